package schedule_test

import (
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign/schedule"
)

// FuzzParseCron checks that no expression makes ParseCron panic, and that
// one that parses gives strictly increasing slots, each at or after the
// wall time it names, across a spring-forward and a fall-back.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{
		"0 9 * * MON", "*/15 * * * *", "30 2 * * *", "* * * * * *", "0 0 30 2 *", "0 0 29 2 *",
		"@daily", "@every 1h", "TZ=UTC", "CRON_TZ=Europe/Rome 0 9 * * *", "0 9 * * 7", "1-5/2 */3 ? jan-mar sun,sat",
		"", "@", "-", "*/", "0-", "59-0 * * * *", "*/99999999999999999999 * * * *",
	} {
		f.Add(s, int64(0))
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string, offset int64) {
		c, err := schedule.ParseCron(expr, ny)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseCron(%q): empty error", expr)
			}
			return
		}
		// Start somewhere in the days around New York's 2026 transitions.
		starts := []time.Time{
			time.Date(2026, 3, 7, 0, 0, 0, 0, ny),
			time.Date(2026, 10, 31, 0, 0, 0, 0, ny),
		}
		for _, start := range starts {
			at := start.Add(time.Duration(offset%(3*24*3600)) * time.Second)
			for range 8 {
				s, ok := c.Next(at)
				if !ok {
					break
				}
				if !s.At.After(at) {
					t.Fatalf("%q: Next(%s) = %s, not after it", expr, at, s.At)
				}
				if s.Note == "" && s.At.In(ny).Format(time.DateTime) != s.Nominal.Format(time.DateTime) {
					t.Fatalf("%q: slot at %s names %s without a note", expr, s.At.In(ny), s.Nominal)
				}
				at = s.At
			}
		}
	})
}
