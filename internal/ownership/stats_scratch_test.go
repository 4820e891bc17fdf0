package ownership

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestScratchStats(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	for n := 1; n <= 8; n++ {
		var ratios []float64
		var sds float64
		within := 0
		T := 5000
		for trial := 0; trial < T; trial++ {
			var ms []string
			for i := 0; i < n; i++ {
				b := make([]byte, 5)
				for j := range b { b[j] = letters[r.IntN(len(letters))] }
				ms = append(ms, "linedispatch-7d9f8c6b5-"+string(b))
			}
			a := Assign(64, ms)
			mn, mx := 1000, 0
			mean := 64.0 / float64(n)
			v := 0.0
			for _, m := range ms { l := len(a[m]); mn = min(mn, l); mx = max(mx, l); v += (float64(l)-mean)*(float64(l)-mean) }
			sds += math.Sqrt(v / float64(n))
			if mn == 0 { ratios = append(ratios, math.Inf(1)) } else { ratios = append(ratios, float64(mx)/float64(mn)) }
			if float64(mn) >= mean*0.75 && float64(mx) <= mean*1.25 { within++ }
		}
		sort.Float64s(ratios)
		fmt.Printf("n=%d sd=%.2f p50=%.2f p90=%.2f p99=%.2f max=%.2f within25%%=%.2f\n", n, sds/float64(T), ratios[T/2], ratios[T*9/10], ratios[T*99/100], ratios[T-1], float64(within)/float64(T))
	}
	for _, pre := range []string{"linedispatch-", "dispatcher-", "pod-"} {
		for n := 1; n <= 8; n++ {
			var ms []string
			for i := 0; i < n; i++ { ms = append(ms, fmt.Sprintf("%s%d", pre, i)) }
			a := Assign(64, ms)
			var ls []int
			for _, m := range ms { ls = append(ls, len(a[m])) }
			fmt.Printf("%s n=%d %v\n", pre, n, ls)
		}
	}
}
