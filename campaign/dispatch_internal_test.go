package campaign

import "testing"

type limitsOnly struct {
	Channel
	l Limits
}

func (c limitsOnly) Limits() Limits { return c.l }

func TestWorkersFollowTheRate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rates []float64
		want  int
	}{
		{[]float64{30}, minWorkers},      // 7.5 in flight: the floor
		{[]float64{1000}, 250},           // paid broadcast
		{[]float64{1000, 300}, 325},      // two accounts add up
		{[]float64{100000}, maxWorkers},  // capped
		{[]float64{0}, unlimitedWorkers}, // no limit: the sandbox
	}
	for _, tc := range cases {
		chans := map[string]Channel{}
		for i, r := range tc.rates {
			chans[string(rune('a'+i))] = limitsOnly{l: Limits{PerSecond: r}}
		}
		if got := workersFor(chans); got != tc.want {
			t.Errorf("rates %v: %d workers, want %d", tc.rates, got, tc.want)
		}
	}
}
