package telegram

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Rates are scaled up so the test runs in milliseconds; the logic is the same.
func fastLimiter() *Limiter {
	return NewLimiter(LimiterConfig{
		PerBot: 200, PerBotBurst: 5,
		PerChat: 20, ChatBurst: 1, // 50ms apart
		PerGroup: 10, GroupBurst: 1, // 100ms apart
	})
}

func TestLimiterPerChat(t *testing.T) {
	tests := []struct {
		name    string
		isGroup bool
		gap     time.Duration
	}{
		{"private chat", false, 50 * time.Millisecond},
		{"group", true, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := fastLimiter()
			ctx := context.Background()
			start := time.Now()
			for range 3 {
				if err := l.Wait(ctx, 42, tt.isGroup); err != nil {
					t.Fatal(err)
				}
			}
			if d := time.Since(start); d < 2*tt.gap-10*time.Millisecond {
				t.Fatalf("3 messages to one chat took %v, want at least %v", d, 2*tt.gap)
			}
		})
	}
}

func TestLimiterChatsIndependentButBotWideCap(t *testing.T) {
	l := fastLimiter()
	ctx := context.Background()
	start := time.Now()
	// Five different chats fit the bot burst: no waiting.
	for id := range int64(5) {
		if err := l.Wait(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 30*time.Millisecond {
		t.Fatalf("independent chats waited %v", d)
	}
	// Twenty more distinct chats must be paced by the bot-wide 200/s: ~100ms.
	for id := int64(5); id < 25; id++ {
		if err := l.Wait(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("25 sends took %v; the bot-wide limit was not applied", d)
	}
}

func TestLimiterCancel(t *testing.T) {
	l := NewLimiter(LimiterConfig{PerChat: rate.Every(time.Hour)})
	ctx := context.Background()
	if err := l.Wait(ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(cctx, 1, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestLimiterEvictsIdleChats(t *testing.T) {
	l := fastLimiter()
	ctx := context.Background()
	var wg sync.WaitGroup
	for id := range int64(50) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = l.Wait(ctx, id, id%2 == 0)
		}()
	}
	wg.Wait()
	if n := l.Chats(); n != 50 {
		t.Fatalf("Chats = %d, want 50", n)
	}
	time.Sleep(150 * time.Millisecond) // every chat limiter refills
	l.Sweep()
	if n := l.Chats(); n != 0 {
		t.Fatalf("after sweep Chats = %d, want 0", n)
	}
}
