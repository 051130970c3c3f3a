package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// Dedupe key prefixes: each kind of key is prefixed so that, say, a GUID that
// happens to be a URL never collides with a link-derived key.
const (
	keyPrefixID   = "id:"
	keyPrefixLink = "link:"
	keyPrefixHash = "sha256:"
)

// DedupeKey returns the stable dedupe key of an item: "id:" and its GUID (or
// Atom / JSON Feed id) when that is not blank; else "link:" and its
// normalized link (see NormalizeLink); else "sha256:" and the hex SHA-256 of
// title + "\n" + content. The result is never empty.
func DedupeKey(guid, link, title, content string) string {
	if id := strings.TrimSpace(guid); id != "" {
		return keyPrefixID + id
	}
	if l := NormalizeLink(link); l != "" {
		return keyPrefixLink + l
	}
	sum := sha256.Sum256([]byte(title + "\n" + content))
	return keyPrefixHash + hex.EncodeToString(sum[:])
}

// trackingParams are query parameters that only say where a click came from;
// two links that differ only in them point at the same item.
var trackingParams = map[string]bool{
	"fbclid": true,
	"gclid":  true,
}

func isTrackingParam(name string) bool {
	name = strings.ToLower(name)
	return strings.HasPrefix(name, "utm_") || trackingParams[name]
}

// NormalizeLink returns raw in a canonical form so that links to the same
// item compare equal: scheme and host lowercased, default ports (http 80,
// https 443) dropped, the fragment dropped, utm_*, fbclid and gclid query
// parameters dropped, the remaining parameters sorted, and a trailing slash
// removed from a non-root path (an empty path becomes "/").
//
// Only absolute URLs with a host are rewritten; anything else (a relative
// link, an unparsable string) is returned trimmed but otherwise unchanged.
// Blank input returns "".
func NormalizeLink(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return raw
	}
	scheme := strings.ToLower(u.Scheme)
	hostname := strings.ToLower(u.Hostname())
	if hostname == "" {
		return raw
	}
	host := hostname
	if strings.Contains(hostname, ":") {
		host = "[" + hostname + "]" // IPv6
	}
	switch port := u.Port(); {
	case port == "", scheme == "http" && port == "80", scheme == "https" && port == "443":
	default:
		host += ":" + port
	}

	path := u.EscapedPath()
	for len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if path == "" {
		path = "/"
	}

	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(host)
	b.WriteString(path)
	if q := normalizeQuery(u.RawQuery); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String()
}

// normalizeQuery drops tracking parameters and empty pairs and sorts the
// rest, keeping each pair's original encoding.
func normalizeQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var kept []string
	for pair := range strings.SplitSeq(rawQuery, "&") {
		pair = strings.TrimSpace(pair) // spaces are not valid in a query anyway
		if pair == "" {
			continue
		}
		name, _, _ := strings.Cut(pair, "=")
		if decoded, err := url.QueryUnescape(name); err == nil {
			name = decoded
		}
		if isTrackingParam(name) {
			continue
		}
		kept = append(kept, pair)
	}
	slices.Sort(kept)
	return strings.Join(kept, "&")
}
