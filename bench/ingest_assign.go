package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// assignAgents is how many online agents share the round in the
// auto-assignment ingest runs; with the maximum capacity each they can
// take every conversation the runs open.
const assignAgents = 5

// MeasureIngestAssign is the cost of auto-assignment on ingest (SQLite):
// the real poller ingests the same updates with the channels' round robin
// off and on (assignAgents online agents, capacity 1000 each), in
// interleaved runs (off, on, off, on, each on a fresh database) to damp
// drift on a shared machine. Two mixes: every update from a new chat (each
// update opens a conversation, which the round assigns: the worst case)
// and the ingest row's mix of a few hundred chats. The "on" runs check that
// every conversation was assigned.
func MeasureIngestAssign(ctx context.Context, root string, sz AssignSizes) ([]Figure, error) {
	mixes := []struct {
		name  string
		chats int
	}{
		{"a new chat per update", sz.Updates},
		{fmt.Sprintf("%d chats", sz.Chats), sz.Chats},
	}
	var out []Figure
	for _, mix := range mixes {
		msz := IngestSizes{Updates: sz.Updates, Bots: sz.Bots, Chats: mix.chats}
		var off, on []float64
		for round := range sz.Rounds {
			for _, assign := range []bool{false, true} {
				name := fmt.Sprintf("ingest-assign-%d-%d-%v", mix.chats, round, assign)
				d, drop, err := newBenchDB(ctx, "", filepath.Join(root, name))
				if err != nil {
					return nil, err
				}
				var setup func(context.Context, *store.Store, []string) error
				if assign {
					setup = roundRobinOn
				}
				rate, err := pollerIngestWith(ctx, d, msz, setup)
				if err == nil && assign {
					err = allAssigned(ctx, d, mix.chats)
				}
				drop()
				if err != nil {
					return nil, fmt.Errorf("bench: ingest with auto-assignment %v: %w", assign, err)
				}
				if assign {
					on = append(on, rate)
				} else {
					off = append(off, rate)
				}
			}
		}
		offMean, onMean := mean(off), mean(on)
		ratio := onMean / offMean
		out = append(out, Figure{
			Name:     fmt.Sprintf("Telegram updates ingested/s with round-robin auto-assignment on, %s, real poller (%d bot%s), SQLite", mix.name, sz.Bots, plural(sz.Bots)),
			Value:    fmt.Sprintf("%.0f updates/s", onMean),
			Baseline: fmt.Sprintf("%.0f updates/s with it off", offMean),
			Ratio:    fmt.Sprintf("%.0f %%", ratio*100),
			Target:   "≥ 80 % of off",
			Status:   check(ratio >= 0.8),
			Notes: fmt.Sprintf("%d private text updates from %d chats, workbench mode \"all\"; on: %d online agents in the round, capacity 1000, "+
				"every conversation assigned in the ingest's transaction (store/assign.go). Interleaved runs off/on (%d rounds), each on a fresh database: "+
				"off %s, on %s updates/s.", sz.Updates, mix.chats, assignAgents, sz.Rounds, rates(off), rates(on)),
		})
	}
	return out, nil
}

// AssignSizes bound the auto-assignment ingest scenario: the ingest's
// sizes and how many off/on pairs run per mix.
type AssignSizes struct {
	IngestSizes
	Rounds int
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func rates(xs []float64) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(out, ", ")
}

// roundRobinOn puts every channel on round robin with assignAgents online
// agents.
func roundRobinOn(ctx context.Context, st *store.Store, channels []string) error {
	for i := range assignAgents {
		u, err := st.CreateUser(ctx, fmt.Sprintf("bench-agent-%d@example.test", i), models.RoleAgent, "bench password 0123456789")
		if err != nil {
			return fmt.Errorf("bench: create agent: %w", err)
		}
		if err := st.TouchPresence(ctx, u.ID); err != nil {
			return err
		}
	}
	for _, ch := range channels {
		set := store.AssignSettings{Mode: models.AutoAssignRoundRobin, Capacity: models.MaxAssignCapacity}
		if err := st.SetAssignSettings(ctx, store.Actor{Name: "bench"}, ch, set); err != nil {
			return err
		}
	}
	return nil
}

// allAssigned checks that the run assigned each of its conversations.
func allAssigned(ctx context.Context, d benchDB, want int) error {
	st, _, err := openStoreOn(ctx, d)
	if err != nil {
		return err
	}
	defer st.Close()
	page, err := st.ListConversations(ctx, store.ConversationFilter{Status: store.ConversationOpen, Unassigned: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Rows) > 0 {
		return fmt.Errorf("conversation %d of %d left unassigned", page.Rows[0].ID, want)
	}
	return nil
}
