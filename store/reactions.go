package store

// ReactionCount is one emoji on a message and how many reacted with it;
// Mine is set when the bot (an agent) is among them.
type ReactionCount struct {
	Emoji string
	Count int
	Mine  bool
}
