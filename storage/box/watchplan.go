package box

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// MaxWebhooks is Box's limit of webhooks v2 per application and user.
const MaxWebhooks = 1000

// DefaultWebhookBudget is the number of webhooks WebhookFolders aims at
// by default: well under MaxWebhooks, leaving room for webhooks an earlier
// run left on other folders and for other uses of the app.
const DefaultWebhookBudget = 900

// FolderPath is a folder and its ancestors: the IDs of its
// path_collection, from the root ("0") down to its parent.
type FolderPath struct {
	ID        string
	Ancestors []string
}

// FolderPath returns folder id's ancestors (GET /folders/{id} with
// fields=path_collection).
func (c *Client) FolderPath(ctx context.Context, id string) (FolderPath, error) {
	var it Item
	_, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL("/folders/"+url.PathEscape(id), url.Values{"fields": {"id,path_collection"}})}, &it)
	if err != nil {
		return FolderPath{}, err
	}
	fp := FolderPath{ID: id}
	if it.Paths != nil {
		for _, e := range it.Paths.Entries {
			fp.Ancestors = append(fp.Ancestors, e.ID)
		}
	}
	return fp, nil
}

// WebhookFolders chooses the folders to set webhooks v2 on so that every
// one of folders lies in or below a chosen folder, with at most budget
// webhooks (<= 0: DefaultWebhookBudget). It follows Box's rules: a
// webhook cascades (it fires for events in the folder's subfolders at any
// depth), there is none on the root folder "0", and at most one per
// folder.
//
// The choice:
//   - never "0";
//   - a folder below another of folders is not chosen (the cascade covers
//     it);
//   - when the remaining folders are more than budget, common ancestors
//     are chosen instead of the folders below them: the fewest ancestors
//     (folders not in folders) that bring the count within budget, and
//     among as few, the deepest (a narrower folder wakes less for
//     changes outside the pairs). So one folder holding all the pairs is
//     preferred to two narrower ones: an extra folder's changes outside
//     the pairs are the only cost of a broader webhook when, as with
//     EventsFeed, a delivery only wakes a reader of the events stream.
//
// The result is sorted. It is an error when folders holds "0" or when the
// folders lie below more than budget distinct folders just under the root
// (no ancestor but "0" is common to them). Ancestor chains are taken as
// given; a folder met with two different parents keeps the first.
func WebhookFolders(folders []FolderPath, budget int) ([]string, error) {
	if budget <= 0 {
		budget = DefaultWebhookBudget
	}
	// The forest of the folders and their ancestors (below "0").
	parent := map[string]string{}
	depth := map[string]int{}
	isPair := map[string]bool{}
	add := func(id, par string, d int) {
		if _, ok := parent[id]; !ok {
			parent[id], depth[id] = par, d
		}
	}
	for _, f := range folders {
		if f.ID == "0" || f.ID == "" {
			return nil, fmt.Errorf("box: folder %q is the root (or no folder): webhooks v2 cannot watch it", f.ID)
		}
		isPair[f.ID] = true
		par := ""
		for i, a := range f.Ancestors {
			if a == "0" {
				par = ""
				continue
			}
			add(a, par, i)
			par = a
		}
		add(f.ID, par, len(f.Ancestors))
	}
	children := map[string][]string{}
	for id, par := range parent {
		children[par] = append(children[par], id)
	}
	for _, c := range children {
		slices.Sort(c)
	}

	// best[v][k-1] is the cheapest cover of the folders in v's subtree
	// with k webhooks there; choice records how it was reached.
	type plan struct {
		costs []cost
		// watch: v itself is watched (k = 1); otherwise split[i][k-1] is
		// the k given to the first i+1 children.
		watch []bool
		split [][]int
	}
	plans := map[string]*plan{}
	var solve func(v string) *plan
	combine := func(kids []string) ([]cost, [][]int) {
		var acc []cost
		var split [][]int
		for i, c := range kids {
			cp := solve(c)
			if i == 0 {
				acc = slices.Clone(cp.costs)
				split = append(split, make([]int, len(acc)))
				for k := range acc {
					split[0][k] = k + 1
				}
				continue
			}
			n := min(len(acc)+len(cp.costs), budget)
			next := make([]cost, n)
			sp := make([]int, n)
			for k := range next {
				next[k] = infCost
			}
			for a := range acc {
				if acc[a] == infCost {
					continue
				}
				for b := range cp.costs {
					k := a + b + 1 // (a+1) + (b+1) webhooks, index k-1 = a+b+1
					if k >= n {
						break
					}
					if cp.costs[b] == infCost {
						continue
					}
					if c := acc[a].plus(cp.costs[b]); c.less(next[k]) {
						next[k], sp[k] = c, b+1
					}
				}
			}
			acc = next
			split = append(split, sp)
		}
		return acc, split
	}
	solve = func(v string) *plan {
		if p := plans[v]; p != nil {
			return p
		}
		p := &plan{}
		if isPair[v] {
			// Watched itself, at no extra cost: whatever is below it is
			// covered.
			p.costs, p.watch = []cost{{}}, []bool{true}
		} else {
			p.costs, p.split = combine(children[v])
			p.watch = make([]bool, len(p.costs))
			if own := (cost{extra: 1, shallow: -depth[v]}); len(p.costs) == 0 || own.less(p.costs[0]) {
				if len(p.costs) == 0 {
					p.costs, p.watch = []cost{infCost}, []bool{false}
				}
				p.costs[0], p.watch[0] = own, true
			}
		}
		plans[v] = p
		return p
	}
	tops := children[""]
	costs, split := combine(tops)
	bestK := -1
	for k, c := range costs {
		if c != infCost && (bestK < 0 || c.less(costs[bestK])) {
			bestK = k
		}
	}
	if bestK < 0 {
		if len(folders) == 0 {
			return []string{}, nil
		}
		return nil, fmt.Errorf("box: the %d folders lie below %d folders just under the root, more than the budget of %d webhooks (none can be set on the root)",
			len(folders), len(tops), budget)
	}
	var out []string
	var take func(kids []string, split [][]int, k int)
	take = func(kids []string, split [][]int, k int) {
		for i := len(kids) - 1; i >= 0; i-- {
			kc := split[i][k-1]
			v, p := kids[i], plans[kids[i]]
			if p.watch[kc-1] {
				out = append(out, v)
			} else {
				take(children[v], p.split, kc)
			}
			k -= kc
		}
	}
	take(tops, split, bestK+1)
	slices.Sort(out)
	return out, nil
}

// cost orders covers: fewer extra folders (ancestors not among the
// given folders) first, then deeper ones (shallow is minus the sum of
// the extra folders' depths).
type cost struct{ extra, shallow int }

var infCost = cost{extra: 1 << 30}

func (c cost) plus(o cost) cost { return cost{c.extra + o.extra, c.shallow + o.shallow} }

func (c cost) less(o cost) bool {
	if c.extra != o.extra {
		return c.extra < o.extra
	}
	return c.shallow < o.shallow
}
