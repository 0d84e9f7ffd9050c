package oauthcore

import "testing"

func TestAnnouncer(t *testing.T) {
	var a Announcer
	var got []string
	cancel := a.Subscribe(func(kind, id string) { got = append(got, kind+":"+id) })
	a.Announce("grant", "g1", "g2")
	cancel()
	a.Announce("token", "t1")
	if len(got) != 2 || got[0] != "grant:g1" || got[1] != "grant:g2" {
		t.Fatalf("announcements %v", got)
	}
	// A callback may subscribe while being called (no deadlock).
	a.Subscribe(func(string, string) { a.Subscribe(func(string, string) {}) })
	a.Announce("all", "")
}
