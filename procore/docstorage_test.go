package procore_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

func TestDocumentsSegmentedPutAndVersions(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{ChunkThreshold: procore.MinSegmentSize + 1,
		SegmentSize: procore.MinSegmentSize})
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	data := bytes.Repeat([]byte("procore!"), (2*procore.MinSegmentSize+1234)/8)
	srv.ResetCalls()
	e, err := s.Put(ctx, root, "big.bin", bytes.NewReader(data), int64(len(data)), storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, srv.CallCount("StorageUploadPart"), "three segments")
	require.Equal(t, 3, srv.CallsByHost(procoretest.HostAPI), "create upload, complete it, create the file")
	rc, err := s.Open(ctx, e)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, data, got)

	// A second Put of the same name is a new version of the same file: how
	// a conflict loser is kept.
	e2, err := s.Put(ctx, root, "big.bin", strings.NewReader("small now"), 9, storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, e.ID, e2.ID)
	require.NotEqual(t, e.Version, e2.Version)
	n, err := srv.UIVersions(procoretest.ProjectDocs(srv.ProjectID), "big.bin")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	// A stale ExpectedVersion is refused before anything is uploaded.
	srv.ResetCalls()
	_, err = s.Put(ctx, root, "big.bin", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: e.Version})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
	require.Zero(t, srv.CallsByHost(procoretest.HostStorage))
	// Names Procore Documents refuses are refused locally.
	_, err = s.Put(ctx, root, "a:b.txt", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrInvalidName)
}

func TestDocumentsThrottledErrorCarriesRetryAfter(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, SpikeLimit: 2}, func(o *procore.Options) { o.MaxRateLimitWait = -1 })
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	ctx := context.Background()
	var err error
	for range 3 {
		if _, err = s.Stat(ctx, ""); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, storage.ErrThrottled)
	d, ok := storage.RetryAfter(err)
	require.True(t, ok)
	require.Greater(t, d, time.Duration(0))
}

func TestDocumentsOpenAfterListCostsOneProcoreCall(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	_, err := srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "d/x.txt", []byte("hello"))
	require.NoError(t, err)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	var file storage.Entry
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir {
			file = e
		}
	}
	srv.ResetCalls()
	rc, err := s.Open(ctx, file)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "hello", string(b))
	require.Equal(t, map[string]int{"FileDownload": 1, "StorageGetObject": 1}, srv.Calls())
	require.Zero(t, srv.CallsByHost(procoretest.HostAPI), "no API-host call")
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostFile))

	// A newer version than the listed one: the file is read again.
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "d/x.txt", []byte("hello 2"))
	require.NoError(t, err)
	e, err := s.Stat(ctx, "d/x.txt")
	require.NoError(t, err)
	rc, err = s.Open(ctx, e)
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "hello 2", string(b))
}
