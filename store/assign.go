package store

// Auto-assignment: a channel set to round_robin hands each conversation
// that comes into its open workbench (a new chat, a resolved one reopened,
// an open one entering on a keyword) to the next online user of its round
// who holds fewer open conversations than the channel's capacity. It runs
// in the ingest's transaction (ingestTx), so the assignment commits with
// the message that caused it, and with several instances the channel row
// is locked for the round (FOR UPDATE on PostgreSQL; SQLite has one
// writer), so two instances never hand out the same turn.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botdesk/botdesk/models"
)

// AssignSettings is a channel's auto-assignment.
type AssignSettings struct {
	Mode     models.AutoAssign
	Capacity int
	// Agents are the users in the round; none = every active agent.
	Agents []int64
}

// Validate checks the settings' own rules (the users are checked by
// SetAssignSettings).
func (a AssignSettings) Validate() error {
	switch a.Mode {
	case models.AutoAssignOff, models.AutoAssignRoundRobin:
	default:
		return models.Invalid("mode", "Choose off or round robin.")
	}
	if a.Capacity < 1 || a.Capacity > models.MaxAssignCapacity {
		return models.Invalid("capacity", "The capacity must be between 1 and 1000 open conversations.")
	}
	return nil
}

// AssignSettingsOf reads a channel's auto-assignment.
func (s *Store) AssignSettingsOf(ctx context.Context, channelID string) (AssignSettings, error) {
	ch, err := s.Channel(ctx, channelID)
	if err != nil {
		return AssignSettings{}, err
	}
	out := AssignSettings{Mode: ch.AutoAssign, Capacity: ch.AssignCapacity}
	err = s.r(ctx).Raw("SELECT user_id FROM channel_assignees WHERE channel_id = ? ORDER BY user_id", channelID).Scan(&out.Agents).Error
	if err != nil {
		return out, fmt.Errorf("store: channel assignees: %w", err)
	}
	return out, nil
}

// SetAssignSettings saves a channel's auto-assignment and its audit row
// in one transaction. Every listed user must be active.
func (s *Store) SetAssignSettings(ctx context.Context, a Actor, channelID string, set AssignSettings) error {
	if err := set.Validate(); err != nil {
		return err
	}
	slices.Sort(set.Agents)
	set.Agents = slices.Compact(set.Agents)
	return s.WithTx(ctx, func(ctx context.Context) error {
		db := s.w(ctx)
		res := db.Model(&models.Channel{}).Where("id = ?", channelID).
			Updates(map[string]any{"auto_assign": set.Mode, "assign_capacity": set.Capacity, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("store: set auto-assignment: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: channel %s: %w", channelID, ErrNotFound)
		}
		if len(set.Agents) > 0 {
			var n int64
			if err := db.Model(&models.User{}).Where("id IN ? AND active = TRUE", set.Agents).Count(&n).Error; err != nil {
				return fmt.Errorf("store: check assignees: %w", err)
			}
			if n != int64(len(set.Agents)) {
				return models.Invalid("agents", "Choose active users only.")
			}
		}
		if err := db.Exec("DELETE FROM channel_assignees WHERE channel_id = ?", channelID).Error; err != nil {
			return fmt.Errorf("store: clear assignees: %w", err)
		}
		for _, u := range set.Agents {
			if err := db.Exec("INSERT INTO channel_assignees (channel_id, user_id) VALUES (?, ?)", channelID, u).Error; err != nil {
				return fmt.Errorf("store: add assignee: %w", err)
			}
		}
		ids := make([]string, len(set.Agents))
		for i, u := range set.Agents {
			ids[i] = strconv.FormatInt(u, 10)
		}
		detail := fmt.Sprintf("mode=%s capacity=%d agents=[%s]", set.Mode, set.Capacity, strings.Join(ids, ","))
		return s.Audit(ctx, a, "channel.auto_assign", "channel", channelID, detail)
	})
}

// AgentLoads lists the users who may take the channel's conversations
// (active, agent or above), with availability, open load and whether the
// round includes them, by email.
func (s *Store) AgentLoads(ctx context.Context, channelID string) ([]AgentLoad, error) {
	var users []models.User
	if err := s.r(ctx).Where("active = TRUE").Order("email").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	set, err := s.AssignSettingsOf(ctx, channelID)
	if err != nil {
		return nil, err
	}
	loads, err := s.openLoads(ctx, nil)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []AgentLoad
	for _, u := range users {
		if !MayTake(&u, channelID) {
			continue
		}
		in := slices.Contains(set.Agents, u.ID) || (len(set.Agents) == 0 && u.Role == models.RoleAgent)
		out = append(out, AgentLoad{User: u, Online: Online(&u, now), Open: loads[u.ID], InRound: in})
	}
	return out, nil
}

// openLoads counts open workbench conversations per assignee (of users;
// nil = everyone), through conversations_assignee.
func (s *Store) openLoads(ctx context.Context, users []int64) (map[int64]int64, error) {
	q := s.r(ctx).Table("conversations").Select("assigned_to, COUNT(*) AS n").
		Where("assigned_to IS NOT NULL AND status = ? AND in_workbench = TRUE", ConversationOpen)
	if users != nil {
		q = q.Where("assigned_to IN ?", users)
	}
	var rows []struct {
		AssignedTo int64
		N          int64
	}
	if err := q.Group("assigned_to").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: open loads: %w", err)
	}
	out := map[int64]int64{}
	for _, r := range rows {
		out[r.AssignedTo] = r.N
	}
	return out, nil
}

// roundState is a channel's round robin as one ingest batch moves it:
// who may take conversations, their open loads, and the last one picked.
type roundState struct {
	cands    []int64
	loads    map[int64]int64
	prev     int64
	capacity int
	moved    bool
}

// next picks the user after the last one who is under capacity (0:
// everyone is full) and counts the conversation against them.
func (r *roundState) next() int64 {
	pick := nextInRound(r.cands, r.prev, func(u int64) bool { return r.loads[u] < int64(r.capacity) })
	if pick != 0 {
		r.loads[pick]++
		r.prev, r.moved = pick, true
	}
	return pick
}

// loadRound reads channelID's round in the ingest's transaction (conn),
// locking it on PostgreSQL so one batch at a time moves it. It runs in
// every ingest batch that opens conversations, so it uses the ingest's raw
// connection, unprepared (the IN lists vary, and would crowd the ingest's
// own statements out of their cache). A round with nobody online has no
// candidates: nothing is assigned.
func (s *Store) loadRound(ctx context.Context, conn *ingestConn, channelID string, capacity int, now time.Time) (*roundState, error) {
	r := &roundState{loads: map[int64]int64{}, capacity: capacity}
	lock := "SELECT assign_last_user_id FROM channels WHERE id = ?"
	if s.pg {
		lock += " FOR UPDATE" // one round at a time per channel, across instances
	}
	err := conn.queryOnce(ctx, lock, []any{channelID}, func(rows *sql.Rows) error {
		var last sql.NullInt64
		err := rows.Scan(&last)
		r.prev = last.Int64
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: auto-assign: lock channel: %w", err)
	}
	err = conn.queryOnce(ctx, `SELECT u.id FROM users u WHERE u.active = TRUE AND u.away = FALSE AND u.seen_at >= ?
		AND (EXISTS (SELECT 1 FROM channel_assignees a WHERE a.channel_id = ? AND a.user_id = u.id)
			OR (u.role = ? AND NOT EXISTS (SELECT 1 FROM channel_assignees a WHERE a.channel_id = ?)))
		ORDER BY u.id`, []any{now.Add(-PresenceWindow), channelID, string(models.RoleAgent), channelID}, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		r.cands = append(r.cands, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: auto-assign: candidates: %w", err)
	}
	if len(r.cands) == 0 {
		return r, nil
	}
	err = conn.queryOnce(ctx, `SELECT assigned_to, COUNT(*) FROM conversations
		WHERE assigned_to IN (`+marks(len(r.cands))+`) AND status = ? AND in_workbench = TRUE GROUP BY assigned_to`,
		append(anys(r.cands), ConversationOpen), func(rows *sql.Rows) error {
			var u, n int64
			err := rows.Scan(&u, &n)
			r.loads[u] = n
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: auto-assign: open loads: %w", err)
	}
	return r, nil
}

// saveRound keeps the last user picked for the channel's next batch.
func (s *Store) saveRound(ctx context.Context, conn *ingestConn, channelID string, r *roundState) error {
	if r == nil || !r.moved {
		return nil
	}
	if _, err := conn.pool.ExecContext(ctx, s.reboundSQL("UPDATE channels SET assign_last_user_id = ? WHERE id = ?"), r.prev, channelID); err != nil {
		return fmt.Errorf("store: auto-assign: save the round: %w", err)
	}
	return nil
}

// autoAssign hands out, in the round r, the conversations convs (in
// arrival order) that an ingest batch brought back into the open workbench
// (the conversations it created got their assignee in their INSERT,
// ingest_bulk.go), in the ingest's transaction (conn), and returns the
// "assigned" changes to publish after the commit. A conversation that is
// already assigned (a reopened one keeps its agent) or no longer open is
// left alone; when every online user of the round is at capacity the rest
// stay unassigned.
func (s *Store) autoAssign(ctx context.Context, conn *ingestConn, r *roundState, channelID string, convs []int64) ([]Change, error) {
	if len(r.cands) == 0 || len(convs) == 0 {
		return nil, nil
	}
	free := map[int64]bool{}
	err := conn.queryOnce(ctx, `SELECT id FROM conversations WHERE id IN (`+marks(len(convs))+`)
		AND assigned_to IS NULL AND status = ? AND in_workbench = TRUE`, append(anys(convs), ConversationOpen), func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		free[id] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: auto-assign: free conversations: %w", err)
	}
	picks := map[int64]int64{}
	var picked []int64
	var q strings.Builder
	var args []any
	// The round moves only if a pick lands (below).
	prev, moved := r.prev, r.moved
	q.WriteString("UPDATE conversations SET assigned_to = CASE id")
	for _, id := range convs { // arrival order
		if !free[id] {
			continue
		}
		pick := r.next()
		if pick == 0 {
			break // everyone is full
		}
		picks[id] = pick
		picked = append(picked, id)
		q.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
		args = append(args, id, pick)
	}
	if len(picks) == 0 {
		return nil, nil
	}
	// The guard keeps a conversation an agent took meanwhile (PostgreSQL:
	// another transaction) theirs; RETURNING says which were assigned.
	q.WriteString(" END WHERE id IN (" + marks(len(picked)) + ") AND assigned_to IS NULL AND status = ? AND in_workbench = TRUE RETURNING id")
	args = append(append(args, anys(picked)...), ConversationOpen)
	done := map[int64]bool{}
	err = conn.queryOnce(ctx, q.String(), args, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		done[id] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: auto-assign: %w", err)
	}
	var changes []Change
	for _, id := range picked {
		if done[id] {
			changes = append(changes, assignedChange(channelID, id, picks[id]))
		}
	}
	if len(changes) == 0 {
		r.prev, r.moved = prev, moved
	}
	return changes, nil
}

// assignedChange announces that the round gave conversation conv to user.
func assignedChange(channelID string, conv, user int64) Change {
	return Change{Kind: "assigned", ChannelID: channelID, ConversationID: conv, UserID: user}
}

// marks is n comma-separated placeholders, for an IN list.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// anys is ids as query arguments.
func anys(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// nextInRound is the first user after prev in the round (ids ascending,
// wrapping) that ok accepts, or 0.
func nextInRound(round []int64, prev int64, ok func(int64) bool) int64 {
	start, _ := slices.BinarySearch(round, prev+1)
	for i := range round {
		u := round[(start+i)%len(round)]
		if ok(u) {
			return u
		}
	}
	return 0
}
