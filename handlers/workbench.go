package handlers

// The message workbench pages: the conversation list and one conversation.
// Both are full pages on a direct load and partials for htmx; the live part
// (#wb) is kept current by the SSE stream in workbench_events.go.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// Page sizes of the workbench.
const (
	wbListPage    = 50
	wbHistoryPage = 50
)

var workbenchCrumb = views.Crumb{Label: "Workbench", Href: "/workbench"}

// workbenchFilter reads the list filter from the query string; anything
// unrecognised falls back to the default (open conversations, all channels).
func workbenchFilter(c echo.Context) views.WorkbenchFilter {
	f := views.WorkbenchFilter{Status: "open"}
	if ch := c.QueryParam("channel"); models.ValidChannelID(ch) {
		f.ChannelID = ch
	}
	switch st := c.QueryParam("status"); st {
	case "resolved", "all":
		f.Status = st
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if r := []rune(q); len(r) > 200 {
		q = string(r[:200])
	}
	f.Query = q
	if l := strings.TrimSpace(c.QueryParam("label")); utf8.RuneCountInString(l) <= models.MaxLabelName {
		f.Label = l
	}
	return f
}

func storeFilter(f views.WorkbenchFilter, before string, limit int) store.ConversationFilter {
	return f.Store(before, limit)
}

// workbenchFrame is what both workbench pages show beside the open
// conversation, cached as one entry per data version and view.
type workbenchFrame struct {
	cursor     int64
	filterForm string
	list       views.RenderedList
}

// workbenchView loads what both workbench pages share: the live cursor,
// the filter form with the channel choices and the list page (rendered for
// the open conversation current, 0 for none). They are one cached frame
// (store.Cached): a hit costs one data-version probe.
func (s *Server) workbenchView(c echo.Context, before string, current int64) (views.WorkbenchView, error) {
	ctx := c.Request().Context()
	// Before the (cached) frame: every list update after this position is
	// then either in the list below or sent by the stream (live.Broker.Pos).
	pos := s.live.Pos()
	v := views.WorkbenchView{Filter: workbenchFilter(c), Older: before != "", ListPos: pos.String(), CSRF: csrfToken(c)}
	if u := currentUser(c); u != nil {
		v.Away, v.Notify = u.Away, u.NotifyMessages
	}
	f := v.Filter
	// The rows carry the user's unread counts: one frame per user.
	reader := userID(c)
	key := fmt.Sprintf("html|%s|workbench-frame|%q|%q|%q|%q|%q|%d|%d", i18n.From(ctx).Lang(), f.ChannelID, f.Status, f.Query, f.Label, before, current, reader)
	frame, err := store.Cached(ctx, s.Store, key, func() (workbenchFrame, error) {
		var out workbenchFrame
		// The cursor is read first: the list below reflects at least it,
		// and the stream resends anything newer.
		cur, err := s.Store.LatestMessageID(ctx)
		if err != nil {
			return out, err
		}
		// The filter only shows id and name: no bot join, no count.
		channels, err := s.Store.ChannelChoices(ctx)
		if err != nil {
			return out, err
		}
		if out.list, err = s.listItems(ctx, f, reader, before, current); err != nil {
			return out, err
		}
		out.cursor = cur
		labels, err := s.Store.ListLabels(ctx)
		if err != nil {
			return out, err
		}
		out.filterForm, err = renderString(ctx, "workbench filter", views.WorkbenchFilterForm(f, channels, labels))
		return out, err
	})
	v.Cursor, v.FilterForm, v.List = frame.cursor, frame.filterForm, frame.list
	return v, err
}

// listItems is ConversationItems for one list page, rendered once per data
// version, filter, cursor and open conversation (store.Cached): after a new
// message every agent's page and stream asks for the same list, and the
// rows are read and rendered once. The rows are read inside the loader, so
// the HTML is never older than the version it is cached under.
func (s *Server) listItems(ctx context.Context, f views.WorkbenchFilter, reader int64, before string, current int64) (views.RenderedList, error) {
	key := fmt.Sprintf("html|%s|conversation-items|%q|%q|%q|%q|%q|%d|%d", i18n.From(ctx).Lang(), f.ChannelID, f.Status, f.Query, f.Label, before, current, reader)
	return store.Cached(ctx, s.Store, key, func() (views.RenderedList, error) {
		sf := storeFilter(f, before, wbListPage)
		sf.Reader = reader
		list, err := s.Store.ListConversations(ctx, sf)
		if err != nil {
			return views.RenderedList{}, err
		}
		html, err := renderString(ctx, "conversation list", views.ConversationItems(list, f, current))
		ids := make([]int64, len(list.Rows))
		for i, r := range list.Rows {
			ids[i] = r.ID
		}
		return views.RenderedList{HTML: html, Empty: len(list.Rows) == 0, IDs: ids}, err
	})
}

func (s *Server) renderWorkbench(c echo.Context, status int, v views.WorkbenchView) error {
	if isHTMX(c) {
		return s.render(c, status, views.WorkbenchBody(v))
	}
	crumbs := []views.Crumb{workbenchCrumb}
	title := "Workbench"
	if v.Conv != nil {
		title = views.ConvTitle(v.Conv.Conv.Conversation) + " · Workbench"
		crumbs = append(crumbs, views.Crumb{Label: views.ConvTitle(v.Conv.Conv.Conversation)})
	} else {
		crumbs[0].Href = ""
	}
	return s.render(c, status, views.WorkbenchPage(s.page(c, title, "workbench", crumbs...), v))
}

func (s *Server) workbenchList(c echo.Context) error {
	v, err := s.workbenchView(c, c.QueryParam("before"), 0)
	if err != nil {
		return err
	}
	return s.renderWorkbench(c, http.StatusOK, v)
}

// workbenchListMore answers "Load more" with the next rows (htmx); the
// no-JS link goes to /workbench?before= instead.
func (s *Server) workbenchListMore(c echo.Context) error {
	cid, _ := strconv.ParseInt(c.QueryParam("cid"), 10, 64)
	list, err := s.listItems(c.Request().Context(), workbenchFilter(c), userID(c), c.QueryParam("before"), cid)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.LoadMoreRows(list.IDs, list.HTML))
}

// loadConversation resolves :cid to a conversation agents may see: one the
// workbench holds. Others are not found, whatever the role.
func (s *Server) loadConversation(c echo.Context, id string) (*models.ConversationRow, error) {
	cid, err := strconv.ParseInt(id, 10, 64)
	if err != nil || cid <= 0 {
		return nil, fmt.Errorf("conversation %q: %w", id, store.ErrNotFound)
	}
	conv, err := s.Store.Conversation(c.Request().Context(), cid)
	if err != nil {
		return nil, err
	}
	if !conv.InWorkbench {
		return nil, fmt.Errorf("conversation %d not in workbench: %w", cid, store.ErrNotFound)
	}
	return conv, nil
}

// highlightFor returns the channel's keywords when it runs in keyword mode.
func (s *Server) highlightFor(ctx context.Context, channelID string) (models.Keywords, error) {
	ch, err := s.Store.Channel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	if ch.WorkbenchMode != models.WorkbenchKeyword {
		return nil, nil
	}
	return ch.Keywords, nil
}

// messageViews adds quotes and edit history to a batch of messages.
func (s *Server) messageViews(ctx context.Context, conv *models.Conversation, rows []models.MessageRow, kw models.Keywords) ([]views.MessageView, error) {
	var edited, quoted []int64
	for _, r := range rows {
		if r.EditCount > 0 {
			edited = append(edited, r.ID)
		}
		if r.ReplyToMessageID != nil {
			quoted = append(quoted, *r.ReplyToMessageID)
		}
	}
	edits, err := s.Store.MessageEdits(ctx, edited)
	if err != nil {
		return nil, err
	}
	quotes, err := s.Store.QuotedMessages(ctx, conv.ChannelID, conv.ChatID, quoted)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	reactions, err := s.Store.Reactions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]views.MessageView, 0, len(rows))
	for _, r := range rows {
		mv := views.MessageView{Msg: r, Edits: edits[r.ID], Highlight: kw, ConvID: conv.ID, Reactions: reactions[r.ID]}
		if r.ReplyToMessageID != nil {
			if q, ok := quotes[*r.ReplyToMessageID]; ok {
				mv.Quoted = &q
			}
		}
		out = append(out, mv)
	}
	return out, nil
}

// conversationView builds the right-hand pane: history up to the page's
// cursor (or an older page), with unread reset because an agent now sees it.
func (s *Server) conversationView(c echo.Context, conv *models.ConversationRow, f views.WorkbenchFilter, cursor int64) (*views.ConversationView, error) {
	ctx := c.Request().Context()
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	kw, err := s.highlightFor(ctx, conv.ChannelID)
	if err != nil {
		return nil, err
	}
	upto := cursor
	if before > 0 {
		upto = store.Latest
	}
	rows, more, err := s.Store.ConversationMessages(ctx, &conv.Conversation, max(before, 0), upto, wbHistoryPage)
	if err != nil {
		return nil, err
	}
	msgs, err := s.messageViews(ctx, &conv.Conversation, rows, kw)
	if err != nil {
		return nil, err
	}
	notes, err := s.Store.ListNotes(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	allLabels, err := s.Store.ListLabels(ctx)
	if err != nil {
		return nil, err
	}
	cv := &views.ConversationView{Conv: *conv, Messages: msgs, More: more, Before: max(before, 0), Live: before <= 0,
		Filter: f, CSRF: csrfToken(c), Notes: notes, AllLabels: allLabels}
	if cv.Assignees, err = s.Store.Assignees(ctx, conv.ChannelID); err != nil {
		return nil, err
	}
	u := currentUser(c)
	if u != nil {
		cv.Me = u.ID
	}
	// Operators may see the groups outside the workbench a contact wrote
	// in; agents only what the workbench shows them.
	if cv.Contact, err = s.Store.ContactOf(ctx, &conv.Conversation, u != nil && u.Role.AtLeast(models.RoleOperator)); err != nil {
		return nil, err
	}
	if err := s.withQuote(c, cv); err != nil {
		return nil, err
	}
	return cv, nil
}

func (s *Server) workbenchConversation(c echo.Context) error {
	ctx := c.Request().Context()
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	if u := currentUser(c); u != nil {
		if err := s.Store.MarkConversationRead(ctx, u.ID, conv.ID); err != nil {
			return err
		}
	}
	v, err := s.workbenchView(c, "", conv.ID)
	if err != nil {
		return err
	}
	if v.Conv, err = s.conversationView(c, conv, v.Filter, v.Cursor); err != nil {
		return err
	}
	return s.renderWorkbench(c, http.StatusOK, v)
}

// workbenchEarlier answers "Load earlier" (htmx) with the previous page of
// history and the next "Load earlier" link.
func (s *Server) workbenchEarlier(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	if b, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64); b <= 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "Give the message id to load history before.")
	}
	cv, err := s.conversationView(c, conv, workbenchFilter(c), store.Latest)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.EarlierPage(*cv))
}
