// Command peers measures procoresync against rclone bisync and Unison on
// the same work (issue 19): two local folders, an initial sync into an
// empty side, an idle re-run and a run after 100 changes (edits, renames,
// folder moves, deletes), at 10,000 and 50,000 small files. The three
// tools run interleaved, phase by phase, each as a child process whose
// wall time, CPU time (user+sys) and peak RSS are taken from its rusage.
// After every run both sides are compared (tree and SHA-256 of every
// file); a difference stops the benchmark.
//
// It is not run by CI. See README.md for what it needs and how to read
// the table.
//
//	go run ./bench/peers -files 10000,50000
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rcloneModule is the rclone release built from the Go module proxy.
const rcloneModule = "github.com/rclone/rclone@v1.76.0"

type config struct {
	files   []int
	changes int
	seed    uint64
	work    string
	tools   string
	keep    bool
	timeout time.Duration
	peers   map[string]bool // "rclone", "unison"
	pssync  string          // a pssync binary to use instead of building one
}

func main() {
	var cfg config
	files := flag.String("files", "10000,50000", "comma-separated tree sizes (files)")
	flag.IntVar(&cfg.changes, "changes", 100, "changes made before the third run")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated trees and changes")
	flag.StringVar(&cfg.work, "work", "", "folder for the trees (default: a new temporary folder)")
	flag.StringVar(&cfg.tools, "tools", filepath.Join(os.TempDir(), "procoresync-peerbench"), "folder where rclone and pssync are built")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the trees afterwards")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Hour, "give up after this long")
	flag.StringVar(&cfg.pssync, "pssync", "", "use this pssync binary (e.g. built from another checkout) instead of building it")
	peers := flag.String("peers", "rclone,unison", "comma-separated peers to compare with (rclone, unison)")
	gen := flag.String("generate", "", "only generate the tree of the first -files size into this (new) folder, then exit")
	chg := flag.String("change", "", "only make -changes changes (seeded by -seed) to the tree in this folder, then exit")
	flag.Parse()
	cfg.peers = map[string]bool{}
	for p := range strings.SplitSeq(*peers, ",") {
		switch p = strings.TrimSpace(p); p {
		case "rclone", "unison":
			cfg.peers[p] = true
		case "":
		default:
			fatalf("unknown peer %q in -peers", p)
		}
	}
	for f := range strings.SplitSeq(*files, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 20 {
			fatalf("bad -files %q: sizes are numbers of at least 20", *files)
		}
		cfg.files = append(cfg.files, n)
	}
	switch {
	case *gen != "":
		if err := os.MkdirAll(*gen, 0o755); err != nil {
			fatalf("%v", err)
		}
		if err := generate(*gen, cfg.files[0], cfg.seed); err != nil {
			fatalf("%v", err)
		}
		return
	case *chg != "":
		if err := change(*chg, cfg.changes, cfg.seed); err != nil {
			fatalf("%v", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
	os.Exit(1)
}

// tool is one of the compared programs: how to sync folder a with folder
// b, given a private state folder.
type tool struct {
	name string
	cmd  func(ctx context.Context, a, b, state string, first bool) *exec.Cmd
}

// measure is what one run of a tool cost.
type measure struct {
	wall, cpu time.Duration
	rssKiB    int64
}

func run(ctx context.Context, cfg config) error {
	tools, err := buildTools(ctx, cfg.tools, cfg.pssync, cfg.peers)
	if err != nil {
		return err
	}
	work := cfg.work
	if work == "" {
		if work, err = os.MkdirTemp("", "peerbench-"); err != nil {
			return err
		}
	}
	if !cfg.keep {
		defer os.RemoveAll(work)
	}
	for _, n := range cfg.files {
		res, err := bench(ctx, cfg, tools, filepath.Join(work, strconv.Itoa(n)), n)
		if err != nil {
			return err
		}
		printTable(os.Stdout, n, cfg.changes, tools, res)
	}
	return nil
}

// phases of one benchmark, in order.
var phases = []string{"initial", "idle", "changes"}

// bench runs the three phases at n files, the tools interleaved within
// each phase, and returns measure by phase and tool.
func bench(ctx context.Context, cfg config, tools []tool, dir string, n int) (map[string]map[string]measure, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "peers: generating %d files for each tool\n", n)
	for _, t := range tools {
		a, b, state := sides(dir, t)
		for _, d := range []string{a, b, state} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := generate(a, n, cfg.seed); err != nil {
			return nil, err
		}
	}
	res := map[string]map[string]measure{}
	for _, ph := range phases {
		res[ph] = map[string]measure{}
		for _, t := range tools {
			a, b, state := sides(dir, t)
			if ph == "changes" {
				if err := change(a, cfg.changes, cfg.seed); err != nil {
					return nil, fmt.Errorf("changing %s's tree: %w", t.name, err)
				}
			}
			// Each run starts with nothing of the trees' generation or of
			// the previous run waiting to be written back: otherwise a
			// tool that syncs (procoresync, Unison) pays for the writes
			// of the one before it.
			syscall.Sync()
			m, err := timed(t.cmd(ctx, a, b, state, ph == "initial"))
			if err != nil {
				return nil, fmt.Errorf("%s, %s run at %d files: %w", t.name, ph, n, err)
			}
			if err := sameTrees(a, b); err != nil {
				return nil, fmt.Errorf("%s, %s run at %d files: the sides differ: %w", t.name, ph, n, err)
			}
			fmt.Fprintf(os.Stderr, "peers: %d files, %-8s %-12s wall %8s  cpu %8s  rss %6d MB\n",
				n, ph, t.name, m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), m.rssKiB/1024)
			res[ph][t.name] = m
		}
	}
	return res, nil
}

func sides(dir string, t tool) (a, b, state string) {
	d := filepath.Join(dir, t.name)
	return filepath.Join(d, "a"), filepath.Join(d, "b"), filepath.Join(d, "state")
}

// timed runs cmd and returns its wall time and its own rusage.
func timed(cmd *exec.Cmd) (measure, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start)}
	if err != nil {
		return m, fmt.Errorf("%v: %s", err, tail(out.String(), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		m.rssKiB = int64(ru.Maxrss) // kilobytes on Linux
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// buildTools builds rclone (from the module proxy, outside this module)
// and pssync into dir/bin, finds Unison, and returns the three tools.
func buildTools(ctx context.Context, dir, pssync string, peers map[string]bool) ([]tool, error) {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	rclone := filepath.Join(bin, "rclone")
	if _, err := os.Stat(rclone); err != nil && peers["rclone"] {
		fmt.Fprintf(os.Stderr, "peers: building %s (several minutes)\n", rcloneModule)
		cmd := exec.CommandContext(ctx, "go", "install", rcloneModule)
		cmd.Dir = dir // outside any module: go.mod of this repository stays untouched
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-buildvcs=false", "GOWORK=off")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building rclone: %w", err)
		}
	}
	if pssync == "" {
		pssync = filepath.Join(bin, "pssync")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", pssync, "github.com/procoresync/procoresync/bench/peers/cmd/pssync")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building pssync (run from the repository): %w", err)
		}
	}
	unison, err := exec.LookPath("unison")
	if err != nil && peers["unison"] {
		return nil, errors.New("unison not found: install it from Debian (apt-get install -y unison)")
	}
	tools := []tool{{name: "procoresync", cmd: func(ctx context.Context, a, b, state string, _ bool) *exec.Cmd {
		return exec.CommandContext(ctx, pssync, "-a", a, "-b", b, "-db", filepath.Join(state, "sync.db"))
	}}}
	if peers["rclone"] {
		tools = append(tools, tool{name: "rclone bisync", cmd: func(ctx context.Context, a, b, state string, first bool) *exec.Cmd {
			args := []string{"bisync", a, b, "--workdir", state, "--config", filepath.Join(state, "rclone.conf"), "-q"}
			if first {
				args = append(args, "--resync") // bisync's required first run
			}
			return exec.CommandContext(ctx, rclone, args...)
		}})
	}
	if peers["unison"] {
		tools = append(tools, tool{name: "Unison", cmd: func(ctx context.Context, a, b, state string, _ bool) *exec.Cmd {
			cmd := exec.CommandContext(ctx, unison, a, b, "-batch", "-auto", "-silent", "-ui", "text",
				"-confirmbigdel=false", "-perms", "0", "-times")
			cmd.Env = append(os.Environ(), "UNISON="+state, "HOME="+state)
			return cmd
		}})
	}
	return tools, nil
}

// generate makes n files of 1–8 KiB of seeded random bytes in n/20
// folders below dir; every call with the same n and seed makes the same
// tree.
func generate(dir string, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	folders := n / 20
	for d := range folders {
		if err := os.Mkdir(filepath.Join(dir, folderName(d)), 0o755); err != nil {
			return err
		}
	}
	buf := make([]byte, 8<<10)
	for i := range n {
		size := 1024 + rng.IntN(7*1024+1)
		fill(rng, buf[:size])
		p := filepath.Join(dir, folderName(rng.IntN(folders)), fmt.Sprintf("file-%06d.bin", i))
		if err := os.WriteFile(p, buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func folderName(d int) string { return fmt.Sprintf("folder-%04d", d) }

func fill(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// change makes the same k changes to every tree generated with seed: a
// quarter each of edits, file renames, folder moves (a folder into
// another) and deletes, spread over the tree.
func change(dir string, k int, seed uint64) error {
	files, folders, err := inventory(dir)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x19))
	used := map[string]bool{}
	pick := func(from []string) string {
		for range 1000 {
			p := from[rng.IntN(len(from))]
			if !used[p] && !used[filepath.Dir(p)] {
				used[p] = true
				return p
			}
		}
		return ""
	}
	buf := make([]byte, 8<<10)
	for i := range k {
		switch i % 4 {
		case 0: // edit
			p := pick(files)
			if p == "" {
				continue
			}
			size := 1024 + rng.IntN(7*1024+1)
			fill(rng, buf[:size])
			if err := os.WriteFile(filepath.Join(dir, p), buf[:size], 0o644); err != nil {
				return err
			}
		case 1: // rename within its folder
			p := pick(files)
			if p == "" {
				continue
			}
			q := filepath.Join(filepath.Dir(p), fmt.Sprintf("renamed-%03d-%s", i, filepath.Base(p)))
			used[q] = true
			if err := os.Rename(filepath.Join(dir, p), filepath.Join(dir, q)); err != nil {
				return err
			}
		case 2: // folder move into another folder
			src := pick(folders)
			dst := pick(folders)
			if src == "" || dst == "" || strings.HasPrefix(dst, src+"/") || filepath.Dir(src) == dst {
				continue
			}
			for _, f := range append(files, folders...) { // what it holds is taken
				if strings.HasPrefix(f, src+"/") {
					used[f] = true
				}
			}
			if err := os.Rename(filepath.Join(dir, src), filepath.Join(dir, dst, filepath.Base(src))); err != nil {
				return err
			}
		case 3: // delete
			p := pick(files)
			if p == "" {
				continue
			}
			if err := os.Remove(filepath.Join(dir, p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// inventory lists the files and folders below dir (slash paths, sorted).
func inventory(dir string) (files, folders []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
		case hidden(d.Name()):
			if d.IsDir() {
				return filepath.SkipDir
			}
		case d.IsDir():
			folders = append(folders, rel)
		default:
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	slices.Sort(folders)
	return files, folders, err
}

// sameTrees compares the trees below a and b: the same folders and files,
// the same bytes in every file. The tools' own hidden items (procoresync's
// recycle bin and metadata, Unison's temporary files) are not compared.
func sameTrees(a, b string) error {
	ta, err := treeOf(a)
	if err != nil {
		return err
	}
	tb, err := treeOf(b)
	if err != nil {
		return err
	}
	diffs := 0
	var msg strings.Builder
	for p, h := range ta {
		if tb[p] != h {
			diffs++
			if diffs <= 5 {
				fmt.Fprintf(&msg, "\n  %s: %q vs %q", p, short(h), short(tb[p]))
			}
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			diffs++
			if diffs <= 5 {
				fmt.Fprintf(&msg, "\n  %s only in b", p)
			}
		}
	}
	if diffs > 0 {
		return fmt.Errorf("%d differences:%s", diffs, msg.String())
	}
	return nil
}

func short(h string) string { return h[:min(len(h), 12)] }

func hidden(name string) bool {
	return strings.HasPrefix(name, ".procoresync-") || strings.HasPrefix(name, ".unison")
}

// treeOf maps each path below dir to "dir" or the SHA-256 of its content.
func treeOf(dir string) (map[string]string, error) {
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			m[rel] = "dir"
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		m[rel] = fmt.Sprintf("%x", h.Sum(nil))
		return nil
	})
	return m, err
}

// printTable prints the results at n files as the table of issue 19,
// with procoresync's ratio to each peer (below 1.0: procoresync costs
// less).
func printTable(w io.Writer, n, changes int, tools []tool, res map[string]map[string]measure) {
	fmt.Fprintf(w, "\n| %d small files (1–8 KiB, %d folders) |", n, n/20)
	for _, t := range tools {
		fmt.Fprintf(w, " %s |", t.name)
	}
	for _, t := range tools[1:] {
		fmt.Fprintf(w, " procoresync / %s |", t.name)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|")
	for range 2*len(tools) - 1 {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	row := func(label, phase string, val func(measure) float64, format func(float64) string) {
		fmt.Fprintf(w, "| %s |", label)
		for _, t := range tools {
			fmt.Fprintf(w, " %s |", format(val(res[phase][t.name])))
		}
		base := val(res[phase][tools[0].name])
		for _, t := range tools[1:] {
			if v := val(res[phase][t.name]); v > 0 {
				fmt.Fprintf(w, " %.2f× |", base/v)
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	secs := func(v float64) string { return fmt.Sprintf("%.2f s", v) }
	mb := func(v float64) string { return fmt.Sprintf("%.0f MB", v) }
	wall := func(m measure) float64 { return m.wall.Seconds() }
	cpu := func(m measure) float64 { return m.cpu.Seconds() }
	rss := func(m measure) float64 { return float64(m.rssKiB) / 1024 }
	row("initial sync into an empty side, wall", "initial", wall, secs)
	row("initial sync, CPU (user+sys)", "initial", cpu, secs)
	row("idle re-run, wall", "idle", wall, secs)
	row("idle re-run, CPU", "idle", cpu, secs)
	row(fmt.Sprintf("%d changes (edits, renames, folder moves, deletes), wall", changes), "changes", wall, secs)
	row(fmt.Sprintf("%d changes, CPU", changes), "changes", cpu, secs)
	row("peak RSS (initial)", "initial", rss, mb)
}
