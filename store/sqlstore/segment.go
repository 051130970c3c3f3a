package sqlstore

import (
	"strings"

	"github.com/heraldcli/herald/audience"
)

// segmentWhere renders the conditions selecting subscribers (alias s) on
// channels, in statuses (any when empty) and in seg, as SQL and its args. It
// mirrors audience.Segment.Matches.
func (d *dialect) segmentWhere(channels []string, statuses []audience.Status, seg audience.Segment) (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		conds = append(conds, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(channels) > 0 {
		in("s.channel", channels)
	}
	if len(statuses) > 0 {
		st := make([]string, len(statuses))
		for i, s := range statuses {
			st[i] = string(s)
		}
		in("s.status", st)
	}
	if len(seg.TagsAny) > 0 {
		conds = append(conds, "EXISTS (SELECT 1 FROM "+d.Tags+" WHERE value IN ("+placeholders(len(seg.TagsAny))+"))")
		for _, t := range seg.TagsAny {
			args = append(args, t)
		}
	}
	for _, t := range seg.TagsAll {
		conds = append(conds, "EXISTS (SELECT 1 FROM "+d.Tags+" WHERE value = ?)")
		args = append(args, t)
	}
	if len(seg.TagsNone) > 0 {
		conds = append(conds, "NOT EXISTS (SELECT 1 FROM "+d.Tags+" WHERE value IN ("+placeholders(len(seg.TagsNone))+"))")
		for _, t := range seg.TagsNone {
			args = append(args, t)
		}
	}
	if len(seg.Locales) > 0 {
		in("s.locale", seg.Locales)
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// filterWhere is segmentWhere for an audience.Filter, with its addresses.
func (d *dialect) filterWhere(f audience.Filter) (string, []any) {
	where, args := d.segmentWhere(f.Channels, f.Statuses, f.Segment)
	if len(f.Addresses) == 0 {
		return where, args
	}
	for _, a := range f.Addresses {
		args = append(args, a)
	}
	return where + " AND s.address IN (" + placeholders(len(f.Addresses)) + ")", args
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
