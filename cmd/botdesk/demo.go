package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// demoBot is one simulated bot of the demo.
type demoBot struct {
	spec    telegramtest.BotSpec
	channel string
	mode    string
	words   []string
}

var demoBots = []demoBot{
	{spec: telegramtest.BotSpec{ID: 7000000001, Username: "acme_support_bot", FirstName: "Acme Support", CanJoinGroups: true}, channel: "Acme Support", mode: "all"},
	{spec: telegramtest.BotSpec{ID: 7000000002, Username: "acme_orders_bot", FirstName: "Acme Orders", CanJoinGroups: true, CanReadAllGroupMessages: true}, channel: "Acme Orders", mode: "keyword", words: []string{"refund", "help", "broken"}},
}

var demoCustomers = []struct {
	id         int64
	first, usr string
}{
	{5100000001, "Alice", "alice_w"}, {5100000002, "Bogdan", "bogdan"}, {5100000003, "Chen", "chen_li"},
	{5100000004, "Dana", ""}, {5100000005, "Émile", "emile"},
}

var demoLines = []string{
	"Hi! Where is my order #%d?",
	"I need help with my account",
	"Can I get a refund for order #%d?",
	"The app is broken since the update 😕",
	"Thanks, that worked!",
	"Do you ship to Lisbon?",
	"What are your opening hours?",
	"My parcel arrived damaged, please help",
}

// demo is the simulated Telegram plus the sample data and traffic.
type demo struct {
	fake *telegramtest.Server
	url  string
	log  *slog.Logger
}

func startDemo(log *slog.Logger) *demo {
	fake := telegramtest.New()
	return &demo{fake: fake, url: fake.Start(), log: log}
}

func (d *demo) close() { d.fake.Close() }

// seed creates the demo admin, two channels with connected bots (through
// the real JSON API, so the demo exercises the same path users do) and a
// group, then prints the admin password once.
func (d *demo) seed(ctx context.Context, st *store.Store, base string, stderr io.Writer) error {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	pw, err := store.RandomToken(12)
	if err != nil {
		return err
	}
	if _, err := st.CreateUser(ctx, "admin@demo.botdesk", models.RoleAdmin, pw); err != nil {
		return fmt.Errorf("demo: admin: %w", err)
	}
	if _, err := st.CreateUser(ctx, "agent@demo.botdesk", models.RoleAgent, pw); err != nil {
		return fmt.Errorf("demo: agent: %w", err)
	}
	key, _, err := st.CreateAPIKey(ctx, "demo seeding", models.RoleAdmin, nil)
	if err != nil {
		return err
	}
	for _, b := range demoBots {
		tok := d.fake.AddBot(b.spec)
		var ch struct {
			ID string `json:"id"`
		}
		if err := apiCall(ctx, base, key, http.MethodPost, "/api/v1/channels", map[string]any{"name": b.channel}, &ch); err != nil {
			return fmt.Errorf("demo: create channel: %w", err)
		}
		if err := apiCall(ctx, base, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/bot", map[string]any{"token": tok}, nil); err != nil {
			return fmt.Errorf("demo: connect bot: %w", err)
		}
		words := b.words
		if words == nil {
			words = []string{}
		}
		if err := apiCall(ctx, base, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/workbench", map[string]any{"mode": b.mode, "keywords": words}, nil); err != nil {
			return fmt.Errorf("demo: workbench mode: %w", err)
		}
		bot := d.fake.BotUser(b.spec.ID)
		owner := telegramtest.User(demoCustomers[0].id, demoCustomers[0].first, demoCustomers[0].usr)
		d.fake.Inject(b.spec.ID, telegramtest.BotAdded(bot, demoGroup(b), owner))
	}
	fmt.Fprintf(stderr, "\nDEMO MODE: sign in at %s as admin@demo.botdesk or agent@demo.botdesk with password %s (shown once)\n\n", base, pw)
	return nil
}

// simulate sends customer messages every few seconds and answers every
// reply an agent sends, until ctx ends.
func (d *demo) simulate(ctx context.Context) {
	seen := map[int64]int{}
	tick := time.NewTicker(4 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b := demoBots[rand.IntN(len(demoBots))]
		c := demoCustomers[rand.IntN(len(demoCustomers))]
		line := demoLines[rand.IntN(len(demoLines))]
		if bytes.Contains([]byte(line), []byte("%d")) {
			line = fmt.Sprintf(line, 1000+rand.IntN(9000))
		}
		from := telegramtest.User(c.id, c.first, c.usr)
		if rand.IntN(4) == 0 {
			// Some traffic in the bot's group, so Groups & Channels counts move.
			d.fake.Inject(b.spec.ID, telegramtest.GroupText(demoGroup(b), from, line))
		} else {
			d.fake.Inject(b.spec.ID, telegramtest.PrivateText(from, line))
		}
		for _, b := range demoBots {
			sent := d.fake.Sent(b.spec.ID)
			for _, m := range sent[seen[b.spec.ID]:] {
				u := telegramtest.User(m.Chat.ID, m.Chat.FirstName, m.Chat.Username)
				d.fake.Inject(b.spec.ID, telegramtest.PrivateText(u, "Thank you! 👍"))
			}
			seen[b.spec.ID] = len(sent)
		}
	}
}

// demoGroup is the supergroup each demo bot is a member of.
func demoGroup(b demoBot) telego.Chat {
	return telegramtest.Supergroup(-1001000000000-b.spec.ID%1000, b.spec.FirstName+" customers")
}

// apiCall does one JSON request against our own API.
func apiCall(ctx context.Context, base, key, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
