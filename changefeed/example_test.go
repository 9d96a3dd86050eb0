package changefeed_test

import (
	"context"
	"fmt"

	"github.com/procoresync/procoresync/changefeed"
)

// One feed over a source addressed by path (as Dropbox's list_folder
// cursors are) serves two subscribers: one poll, and each receives only
// the changes below its own root.
func ExampleFeed() {
	ctx := context.Background()
	src := &pathSource{}
	feed := changefeed.New[entry](src, changefeed.Options{})
	tower := feed.Subscribe("/projects/tower")
	plaza := feed.Subscribe("/projects/plaza")
	tc, _ := tower.Latest(ctx)
	pc, _ := plaza.Latest(ctx)

	src.change("/projects/tower/drawings/A-101.pdf", false)
	src.change("/projects/plaza/specs.pdf", false)
	if err := feed.Poll(ctx); err != nil {
		fmt.Println(err)
		return
	}
	t, _, _ := tower.Changes(ctx, tc)
	p, _, _ := plaza.Changes(ctx, pc)
	fmt.Println("polls:", src.polls)
	fmt.Println("tower:", paths(t))
	fmt.Println("plaza:", paths(p))
	// Output:
	// polls: 1
	// tower: [/projects/tower/drawings/A-101.pdf]
	// plaza: [/projects/plaza/specs.pdf]
}
