package sqlite_test

import (
	"testing"

	"github.com/heraldcli/herald/store/storetest"
)

// BenchmarkApply is the ledger's cost per delivery on SQLite.
func BenchmarkApply(b *testing.B) { storetest.BenchApply(b, open(b)) }
