package handlers

// The workspace's part of the workbench live stream: event "note" appends
// private notes of the open conversation (no id: notes have their own
// cursor, the "note" query parameter; the page drops a note it already
// shows, as it does for messages).

import (
	"context"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// sendNotes sends the open conversation's notes after the note cursor when
// the batch announced one (batch nil: the stream just connected).
func (st *wbStream) sendNotes(ctx context.Context, batch []store.Change) error {
	if batch != nil {
		due := false
		for _, ch := range batch {
			due = due || (ch.Kind == "note" && ch.ConversationID == st.conv.ID) || ch.Kind == store.ResyncChange
		}
		if !due {
			return nil
		}
	}
	notes, err := st.s.Store.NotesAfter(ctx, st.conv.ID, st.noteCursor)
	if err != nil {
		return err
	}
	for _, n := range notes {
		if err := st.event("note", "", views.Note(n)); err != nil {
			return err
		}
		st.noteCursor = n.ID
	}
	return nil
}
