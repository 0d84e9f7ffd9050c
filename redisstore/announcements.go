package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Revocations reach every instance through one pub/sub channel. The
// revoking scripts publish inside Redis, atomically with the change, and
// each Store runs one goroutine that holds a subscription and calls the
// local callbacks. A message published while a subscription is down is
// lost, so after a reconnect every callback gets ("all", "") and caches
// drop everything; meanwhile NotifierLive is false and the verifier
// serves nothing from its cache. Subscribers (oauthcore.Announcer) hear a
// revocation made by this Store synchronously, before the revoking method
// returns, and again when its pub/sub echo arrives: harmless for caches.

const (
	// healthEvery is how long the subscription may be silent before it is
	// pinged; a ping unanswered for as long again counts as a drop, which
	// catches a dead peer that never closed the connection.
	healthEvery = time.Second
	// The wait before subscribing again grows from minBackoff to
	// maxBackoff while Redis stays unreachable.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// NotifierLive reports whether the subscription is up, so announcements
// are arriving (oauthcore.NotifierHealth). It is false from the moment a
// drop is seen until the subscription is back.
func (s *Store) NotifierLive() bool { return s.live.Load() }

// message is the channel payload: "grant:<id>" or "token:<jti>".
func message(kind, id string) string { return kind + ":" + id }

func parseMessage(payload string) (kind, id string, ok bool) {
	kind, id, ok = strings.Cut(payload, ":")
	return kind, id, ok && (kind == "grant" || kind == "token")
}

// listen keeps a subscription until Close, making a new one after each
// drop.
func (s *Store) listen(ctx context.Context) {
	defer close(s.done)
	defer s.live.Store(false)
	subscribed, backoff := false, minBackoff
	for ctx.Err() == nil {
		ps := s.rdb.Subscribe(ctx, s.channel())
		if !s.holdPubSub(ps) {
			_ = ps.Close()
			return
		}
		wasUp := s.receive(ctx, ps, &subscribed)
		s.live.Store(false)
		s.holdPubSub(nil)
		_ = ps.Close()
		if wasUp {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// holdPubSub records the current subscription for Close; false once
// closed.
func (s *Store) holdPubSub(ps *redis.PubSub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && ps != nil {
		return false
	}
	s.ps = ps
	return true
}

// receive delivers messages until the subscription breaks, and reports
// whether it was ever confirmed. subscribed tells whether any earlier
// subscription was: only then can a message have been missed.
func (s *Store) receive(ctx context.Context, ps *redis.PubSub, subscribed *bool) (wasUp bool) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthEvery)
		switch {
		case err == nil:
			pinged = false
		case isTimeout(err) && !pinged && ctx.Err() == nil:
			if ps.Ping(ctx) != nil {
				return wasUp
			}
			pinged = true
			continue
		default:
			return wasUp
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if *subscribed {
				s.Announce("all", "") // before live: no cache serves pre-drop entries
			}
			*subscribed, wasUp = true, true
			s.live.Store(true)
		case *redis.Message:
			if kind, id, ok := parseMessage(m.Payload); ok {
				s.Announce(kind, id)
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
