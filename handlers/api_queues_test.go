package handlers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

type queueReceive struct {
	Messages []struct {
		Receipt      string         `json:"receipt"`
		EventID      string         `json:"event_id"`
		Payload      map[string]any `json:"payload"`
		ReceiveCount int            `json:"receive_count"`
		CreatedAt    string         `json:"created_at"`
	} `json:"messages"`
}

func TestAPIQueueReceiveAck(t *testing.T) {
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	ctx := context.Background()
	if _, err := env.Store.SaveWebhook(ctx, ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := env.Store.EnqueueEvent(ctx, ch.ID, "mo", "1", []byte(fmt.Sprintf(`{"type":"mo","text":"m%d"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	key := env.apiKey(t, models.RoleOperator)
	q := "/api/v1/queues/botdesk-" + ch.ID + "-mo"

	// Two consumers at once: every message goes to exactly one of them.
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got queueReceive
				env.api(t, key, http.MethodPost, q+"/receive?visibility=1h&max=3", nil).wantStatus(t, http.StatusOK).json(t, &got)
				if len(got.Messages) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got.Messages {
					if _, dup := seen[m.EventID]; dup {
						t.Errorf("%s delivered twice", m.EventID)
					}
					if m.Payload["type"] != "mo" || m.Receipt == "" || m.ReceiveCount != 1 {
						t.Errorf("message = %+v", m)
					}
					seen[m.EventID] = m.Receipt
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 10 {
		t.Fatalf("received %d distinct messages, want 10", len(seen))
	}
	for _, rcpt := range seen {
		env.api(t, key, http.MethodDelete, q+"/messages/"+rcpt, nil).wantStatus(t, http.StatusNoContent)
		env.api(t, key, http.MethodDelete, q+"/messages/"+rcpt, nil).wantStatus(t, http.StatusNotFound)
	}
	// Empty queue with a short wait answers with an empty list.
	var empty queueReceive
	env.api(t, key, http.MethodPost, q+"/receive?wait=1ms", nil).wantStatus(t, http.StatusOK).json(t, &empty)
	if len(empty.Messages) != 0 {
		t.Fatalf("empty queue returned %+v", empty)
	}
	for _, bad := range []string{"?wait=21s", "?visibility=0s", "?max=0", "?max=101", "?wait=soon"} {
		env.api(t, key, http.MethodPost, q+"/receive"+bad, nil).wantStatus(t, http.StatusUnprocessableEntity)
	}
	env.api(t, key, http.MethodPost, "/api/v1/queues/not-a-queue/receive", nil).wantStatus(t, http.StatusNotFound)
	env.api(t, key, http.MethodPost, "/api/v1/queues/botdesk-tg-aaaaaaaaaa-mo/receive", nil).wantStatus(t, http.StatusNotFound)
}

// A long poll returns as soon as a message arrives.
func TestAPIQueueLongPollWakes(t *testing.T) {
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	ctx := context.Background()
	if _, err := env.Store.SaveWebhook(ctx, ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	key := env.apiKey(t, models.RoleOperator)
	done := make(chan queueReceive)
	go func() {
		var got queueReceive
		env.api(t, key, http.MethodPost, "/api/v1/queues/botdesk-"+ch.ID+"-notify/receive?wait=20s", nil).json(t, &got)
		done <- got
	}()
	if err := env.Store.EnqueueEvent(ctx, ch.ID, "notify", "", []byte(`{"type":"notify","event":"bot_connected"}`)); err != nil {
		t.Fatal(err)
	}
	env.Store.Hub().Publish(store.Change{Kind: "bot", ChannelID: ch.ID})
	if got := <-done; len(got.Messages) != 1 || got.Messages[0].Payload["event"] != "bot_connected" {
		t.Fatalf("long poll = %+v", got)
	}
}
