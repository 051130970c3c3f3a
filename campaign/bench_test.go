package campaign_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/store/sqlite"
)

// unlimited is the Telegram channel with its rate limits off, so the
// benchmark measures herald's own overhead.
type unlimited struct{ *telegram.Channel }

func (unlimited) Limits() campaign.Limits { return campaign.Limits{} }

// benchWorkers is the concurrency of both sides: herald's default for an
// account without a rate limit.
const benchWorkers = 128

// BenchmarkSendVsBareHTTP sends a campaign to 10,000 subscribers through the
// sandbox with rate limits off and, in the same iteration, posts the same
// requests to the same sandbox from a bare net/http loop with the same
// concurrency. It reports both throughputs and herald/bare, and the CPU time
// the whole process (sandbox included) spent per message on each side: on
// a shared machine the CPU figures wander far less than the throughputs,
// and the allocations per message (the whole process's too) not at all.
// "digest" is the shape of the example campaign (one message for
// everyone); "personal" greets each subscriber by name, so every message is
// rendered.
func BenchmarkSendVsBareHTTP(b *testing.B) {
	b.Run("digest", func(b *testing.B) {
		benchSend(b, `channels: [telegram]
source: {url: feed.xml, backfill: 5}
mode: digest
max_items: 5
message:
  text: |
    **New on the blog**
    {{ range .Items }}- [{{ .Title }}]({{ .Link }})
    {{ end }}
  image: "{{ with index .Items 0 }}{{ .Image }}{{ end }}"
  buttons:
    - {text: Read the blog, url: "https://example.com"}
`)
	})
	b.Run("personal", func(b *testing.B) {
		benchSend(b, `channels: [telegram]
mode: static
message:
  text: |
    **Hello {{ .Subscriber.Name }}**, this week on the blog: [a post](https://example.com/posts/1) & more.
  buttons:
    - {text: Read, url: "https://example.com"}
`)
	})
}

// benchItems is a source whose items are new on every fetch.
type benchItems struct{ n int }

func (s *benchItems) Fetch(context.Context, sources.Validators) (sources.Result, error) {
	s.n++
	var items []sources.Item
	for i := range 5 {
		items = append(items, sources.Item{Key: fmt.Sprintf("%d-%d", s.n, i), Title: fmt.Sprintf("Post %d <%d> & *more*", s.n, i),
			Link: fmt.Sprintf("https://example.com/posts/%d-%d", s.n, i), Image: "https://example.com/i.jpg",
			Published: time.Now().Add(-time.Duration(i) * time.Hour)})
	}
	return sources.Result{Items: items}, nil
}

func benchSend(b *testing.B, specYAML string) {
	const n = 10_000
	ctx := context.Background()
	sb := sandbox.New(sandbox.Options{MaxLog: 1})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "herald.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	subs := make([]audience.Subscriber, n)
	for i := range subs {
		subs[i] = audience.Subscriber{Channel: "telegram", Address: strconv.Itoa(100_000 + i), Name: fmt.Sprintf("Subscriber %d", i),
			Tags: []string{"blog"}, Status: audience.Subscribed, Consent: audience.Consent{At: time.Now().Add(-time.Hour), Source: "import"}}
	}
	if _, err := st.Upsert(ctx, subs, time.Now()); err != nil {
		b.Fatal(err)
	}
	tg, err := telegram.New(telegram.Config{Token: "1:bench", APIURL: url})
	if err != nil {
		b.Fatal(err)
	}
	src := &benchItems{}
	e := &campaign.Engine{Store: st, Channels: map[string]campaign.Channel{"telegram": unlimited{tg}},
		OpenSource: func(*campaign.SourceSpec) (campaign.Source, error) { return src, nil },
		Send:       campaign.SendOptions{Workers: benchWorkers}}
	spec, err := campaign.ParseSpec("bench.yaml", "bench", []byte(specYAML), []string{"telegram"})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	// bare posts calls, exactly the requests herald sent, with the same
	// concurrency, and checks only that each was accepted.
	bare := func(calls []campaign.Call) error {
		var wg sync.WaitGroup
		next := make(chan campaign.Call)
		errs := make(chan error, benchWorkers)
		for range benchWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range next {
					resp, err := client.Post(url+"/bot1:bench/"+c.Method, "application/json", bytes.NewReader(c.Body))
					if err != nil {
						errs <- err
						continue
					}
					ok, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !bytes.Contains(ok, []byte(`"ok":true`)) {
						select {
						case errs <- fmt.Errorf("sandbox refused: %s", ok):
						default:
						}
					}
				}
			}()
		}
		for _, c := range calls {
			next <- c
		}
		close(next)
		wg.Wait()
		close(errs)
		return <-errs
	}

	var heraldTime, bareTime, heraldCPU, bareCPU time.Duration
	var heraldAllocs, bareAllocs uint64
	for i := 0; b.Loop(); i++ {
		d, err := e.Prepare(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		run, err := e.Plan(ctx, d, "manual", "")
		if err != nil {
			b.Fatal(err)
		}
		// The same requests, prepared outside the timed part.
		var calls []campaign.Call
		for _, s := range subs {
			m := d.Sample[0] // rendered for subs[0]
			m.Text = strings.Replace(m.Text, subs[0].Name, s.Name, 1)
			cs, err := tg.Prepare(campaign.Recipient{Address: s.Address}, m)
			if err != nil {
				b.Fatal(err)
			}
			calls = append(calls, cs...)
		}
		// Alternate the order so neither side always runs on a warmer machine.
		timeHerald := func() {
			allocs := mallocs()
			start, cpu := time.Now(), cpuTime()
			res, err := e.Dispatch(ctx, spec, run, nil)
			heraldTime += time.Since(start)
			heraldCPU += cpuTime() - cpu
			heraldAllocs += mallocs() - allocs
			if err != nil || res.Counts.Sent != n {
				b.Fatalf("herald sent %d of %d: %v (%+v)", res.Counts.Sent, n, err, res.Counts.Reasons)
			}
		}
		timeBare := func() {
			allocs := mallocs()
			start, cpu := time.Now(), cpuTime()
			if err := bare(calls); err != nil {
				b.Fatal(err)
			}
			bareTime += time.Since(start)
			bareCPU += cpuTime() - cpu
			bareAllocs += mallocs() - allocs
		}
		if i%2 == 0 {
			timeHerald()
			timeBare()
		} else {
			timeBare()
			timeHerald()
		}
	}
	msgs := float64(n * b.N)
	b.ReportMetric(msgs/heraldTime.Seconds(), "herald-msgs/s")
	b.ReportMetric(msgs/bareTime.Seconds(), "bare-msgs/s")
	b.ReportMetric(bareTime.Seconds()/heraldTime.Seconds(), "herald/bare")
	b.ReportMetric(float64(heraldCPU.Microseconds())/msgs, "herald-cpu-us/msg")
	b.ReportMetric(float64(bareCPU.Microseconds())/msgs, "bare-cpu-us/msg")
	b.ReportMetric(float64(heraldAllocs)/msgs, "herald-allocs/msg")
	b.ReportMetric(float64(bareAllocs)/msgs, "bare-allocs/msg")
}

// BenchmarkPlanMemory plans runs for audiences of growing size and reports
// the Go memory allocated per subscriber and the process's peak resident
// memory while planning: planning streams inside SQLite, so neither grows
// with the audience.
func BenchmarkPlanMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "herald.db")
			st, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			fill(b, path, n)
			e := &campaign.Engine{Store: st}
			spec, err := campaign.ParseSpec("p.yaml", "p", []byte("channels: [telegram]\nmode: static\naudience: {tags_any: [blog]}\nmessage: {text: hi}\n"), []string{"telegram"})
			if err != nil {
				b.Fatal(err)
			}
			var alloc uint64
			var peak int64
			for b.Loop() {
				d, err := e.Prepare(ctx, spec)
				if err != nil {
					b.Fatal(err)
				}
				resetPeakRSS()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				run, err := e.Plan(ctx, d, "manual", "")
				runtime.ReadMemStats(&after)
				if err != nil {
					b.Fatal(err)
				}
				alloc += after.TotalAlloc - before.TotalAlloc
				peak = max(peak, peakRSS())
				b.StopTimer()
				if _, err := st.CancelRun(ctx, run.ID, time.Now()); err != nil { // make room for the next run
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(alloc)/float64(n*b.N), "B/subscriber")
			if peak > 0 {
				b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
			}
		})
	}
}

// fill inserts n subscribed subscribers straight into the database file.
func fill(b *testing.B, path string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO subscribers (channel, address, name, tags, status, consent_at, consent_source, created_at, updated_at)
SELECT 'telegram', CAST(1000000 + i AS TEXT), 'Subscriber ' || i, CASE WHEN i % 10 = 0 THEN '["news"]' ELSE '["blog"]' END,
       'subscribed', 1, 'import', 1, 1 FROM seq`, n)
	if err != nil {
		b.Fatal(err)
	}
}

// mallocs is how many heap objects the process has allocated so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// resetPeakRSS resets the kernel's resident-memory high-water mark (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the resident-memory high-water mark in bytes, or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
