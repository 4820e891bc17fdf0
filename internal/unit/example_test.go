package unit_test

import (
	"fmt"
	"time"

	"github.com/linedispatch/linedispatch/internal/unit"
)

// Months are Tokyo calendar months: 15:00 UTC on the last day of a month is
// already the next month.
func ExampleMonth() {
	fmt.Println(unit.Month(time.Date(2026, 10, 31, 14, 59, 59, 0, time.UTC)))
	fmt.Println(unit.Month(time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC)))
	start, end, _ := unit.MonthRange("2026-11")
	fmt.Println(start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	// Output:
	// 2026-10
	// 2026-11
	// 2026-10-31T15:00:00Z 2026-11-30T15:00:00Z
}
