package models

import "testing"

func TestParseMedia(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		wantErr   bool
		file      bool
		place     bool
		wantWidth int
	}{
		{name: "none", in: ""},
		{name: "blank", in: "  "},
		{name: "photo", in: `{"file_id":"AgAC","width":1280,"height":960}`, file: true, wantWidth: 1280},
		{name: "location", in: `{"latitude":52.52,"longitude":13.405}`, place: true},
		{name: "place out of range", in: `{"latitude":520,"longitude":13.4}`},
		{name: "not json", in: `{"file_id":`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMedia(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if m.HasFile() != tc.file || m.HasPlace() != tc.place || m.Width != tc.wantWidth {
				t.Fatalf("media = %+v: file %v place %v", m, m.HasFile(), m.HasPlace())
			}
		})
	}
}
