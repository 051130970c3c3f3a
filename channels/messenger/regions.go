package messenger

import "strings"

// Meta stopped delivering legacy recurring notifications on 10 February
// 2026 except to people in Australia, the European Union, Japan, South
// Korea and the United Kingdom (PLATFORMS.md); the Marketing Messages API
// serves everyone else. The opt-in only tells herald the person's time
// zone, so that is what decides the region.
var legacyZones = map[string]bool{
	// European Union
	"Europe/Vienna": true, "Europe/Brussels": true, "Europe/Sofia": true, "Europe/Zagreb": true,
	"Asia/Nicosia": true, "Asia/Famagusta": true, "Europe/Nicosia": true, "Europe/Prague": true,
	"Europe/Copenhagen": true, "Europe/Tallinn": true, "Europe/Helsinki": true, "Europe/Mariehamn": true,
	"Europe/Paris": true, "Europe/Berlin": true, "Europe/Busingen": true, "Europe/Athens": true,
	"Europe/Budapest": true, "Europe/Dublin": true, "Eire": true, "Europe/Rome": true, "Europe/Riga": true,
	"Europe/Vilnius": true, "Europe/Luxembourg": true, "Europe/Malta": true, "Europe/Amsterdam": true,
	"Europe/Warsaw": true, "Poland": true, "Europe/Lisbon": true, "Portugal": true, "Atlantic/Madeira": true,
	"Atlantic/Azores": true, "Europe/Bucharest": true, "Europe/Bratislava": true, "Europe/Ljubljana": true,
	"Europe/Madrid": true, "Africa/Ceuta": true, "Atlantic/Canary": true, "Europe/Stockholm": true,
	// United Kingdom
	"Europe/London": true, "Europe/Belfast": true, "GB": true, "GB-Eire": true,
	// Japan and South Korea
	"Asia/Tokyo": true, "Japan": true, "Asia/Seoul": true, "ROK": true,
}

// LegacyRegion reports whether a person in IANA time zone tz is in a region
// where Meta still delivers legacy recurring notifications.
func LegacyRegion(tz string) bool {
	return legacyZones[tz] || strings.HasPrefix(tz, "Australia/")
}
