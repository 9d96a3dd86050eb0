package stone

import "testing"

func TestLoadAndValidate(t *testing.T) {
	sp, err := Load(Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"files.Metadata", "files.FileMetadata", "files.WriteMode", "files.UploadError", "auth.RateLimitError", "common.PathRoot", "files.ListFolderArg"} {
		if sp.Defs[n] == nil {
			t.Fatalf("%s not parsed", n)
		}
	}
	if r, ok := sp.Routes["/2/files/delete_v2"]; !ok || r.Arg != "files.DeleteArg" || r.Host != "api" {
		t.Fatalf("route delete_v2: %+v", r)
	}
	for _, tc := range []struct {
		typ, js string
		ok      bool
	}{
		{"files.ListFolderArg", `{"path":"","recursive":true,"limit":2000}`, true},
		{"files.ListFolderArg", `{"path":"/a","limit":0}`, false},
		{"files.ListFolderArg", `{"path":"/a","bogus":1}`, false},
		{"files.ListFolderArg", `{"path":"a"}`, false},
		{"files.ListFolderArg", `{}`, false},
		{"files.WriteMode", `"add"`, true},
		{"files.WriteMode", `{".tag":"update","update":"0123456789a"}`, true},
		{"files.WriteMode", `{".tag":"update","update":"xyz"}`, false},
		{"files.WriteMode", `"update"`, false},
		{"files.WriteMode", `"sideways"`, false},
		{"files.Metadata", `{".tag":"file","name":"a","id":"id:1","path_lower":"/a","path_display":"/a","client_modified":"2026-01-02T03:04:05Z","server_modified":"2026-01-02T03:04:05Z","rev":"0123456789","size":3}`, true},
		{"files.Metadata", `{".tag":"file","name":"a","id":"id:1","client_modified":"2026-01-02T03:04:05.5Z","server_modified":"2026-01-02T03:04:05Z","rev":"0123456789","size":3}`, false},
		{"files.Metadata", `{".tag":"deleted","name":"a","path_lower":"/a"}`, true},
		{"files.Metadata", `{"name":"a"}`, false},
		{"files.FileMetadata", `{"name":"a","id":"id:1","client_modified":"2026-01-02T03:04:05Z","server_modified":"2026-01-02T03:04:05Z","rev":"0123456789","size":-1}`, false},
		{"files.UploadError", `{".tag":"path","reason":{".tag":"conflict","conflict":{".tag":"file"}},"upload_session_id":"x"}`, true},
		{"files.UploadError", `{".tag":"path","path":{".tag":"conflict"}}`, false},
		{"files.DeleteError", `{".tag":"path_lookup","path_lookup":{".tag":"not_found"}}`, true},
		{"files.UploadSessionAppendError", `{".tag":"incorrect_offset","correct_offset":5}`, true},
		{"auth.RateLimitError", `{"reason":{".tag":"too_many_write_operations"},"retry_after":1}`, true},
		{"auth.RateLimitError", `{"reason":"slow down"}`, false},
	} {
		err := sp.ValidateJSON(tc.typ, []byte(tc.js))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: err %v, want ok=%v", tc.typ, tc.js, err, tc.ok)
		}
	}
}
