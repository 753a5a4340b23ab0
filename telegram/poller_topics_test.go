package telegram

import (
	"testing"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// In a forum supergroup every topic is a conversation of its own, titled
// by the topic's name; the General topic (no thread id) is the group's.
// A reply addressed to a topic conversation lands in that topic.
func TestPollerForumTopics(t *testing.T) {
	e := newEnv(t)
	f := e.fake
	forum := telegramtest.Forum(-1001000000077, "Acme Support")
	billing := f.Inject(testBotID, telegramtest.TopicCreated(forum, alice, "Billing")).Message
	shipping := f.Inject(testBotID, telegramtest.TopicCreated(forum, bob, "Shipping")).Message
	f.Inject(testBotID, telegramtest.TopicText(*billing, alice, "I was charged twice"))
	late := f.Inject(testBotID, telegramtest.TopicText(*shipping, bob, "Where is my parcel?")).Message
	f.Inject(testBotID, telegramtest.GeneralText(forum, alice, "Hello everyone"))
	f.Inject(testBotID, telegramtest.TopicRenamed(*billing, alice, "Billing & refunds"))
	last := f.Inject(testBotID, telegramtest.Edited(*late, "Where is my parcel? Order 42")).UpdateID
	e.pollAll(last)

	convs := e.conversationsOf(forum.ID, "thread_id")
	want := []struct {
		thread int64
		title  string
		texts  []string
	}{
		{0, "Acme Support", []string{"Hello everyone"}},
		{int64(billing.MessageID), "Billing & refunds", []string{"Alice created the topic “Billing”", "I was charged twice",
			"Alice renamed the topic to “Billing & refunds”"}},
		{int64(shipping.MessageID), "Shipping", []string{"Bob created the topic “Shipping”", "Where is my parcel? Order 42"}},
	}
	if len(convs) != len(want) {
		t.Fatalf("%d conversations in the forum, want %d: %+v", len(convs), len(want), convs)
	}
	for i, w := range want {
		c := convs[i]
		if c.ThreadID != w.thread || c.Title != w.title {
			t.Errorf("conversation %d: thread %d title %q, want %d %q", i, c.ThreadID, c.Title, w.thread, w.title)
		}
		var got []string
		for _, r := range e.history(&c) {
			got = append(got, r.Text)
		}
		if len(got) != len(w.texts) {
			t.Fatalf("%q: messages %q, want %q", c.Title, got, w.texts)
		}
		for j := range got {
			if got[j] != w.texts[j] {
				t.Errorf("%q: message %d = %q, want %q", c.Title, j, got[j], w.texts[j])
			}
		}
	}

	// A reply to the Shipping conversation goes into the Shipping topic;
	// one to the General conversation has no thread.
	inTopic := e.replyInto(&convs[2], "It left our warehouse today")
	inGeneral := e.replyInto(&convs[0], "Welcome!")
	for _, m := range e.sendAll(inTopic, inGeneral) {
		if m.Status != "sent" {
			t.Fatalf("reply %d: %+v", m.ID, m)
		}
	}
	threads := map[string]int{}
	for _, m := range f.Sent(testBotID) {
		threads[m.Text] = m.MessageThreadID
	}
	if threads["It left our warehouse today"] != shipping.MessageID || threads["Welcome!"] != 0 {
		t.Fatalf("sent into threads %v, want Shipping = %d and General = 0", threads, shipping.MessageID)
	}
	// The reply is in the topic conversation's history, not in General's.
	rows := e.history(&convs[2])
	if n := len(rows); n != 3 || rows[n-1].Text != "It left our warehouse today" {
		t.Fatalf("Shipping history after the reply: %+v", rows)
	}
}
