// Package msgraph is a Microsoft Graph client for drives, the API behind
// OneDrive and SharePoint document libraries, in the manner of
// google/go-github: one Client per tenant, typed resources (Drive,
// DriveItem, Site, UploadSession, Subscription) and typed errors (*Error,
// which matches the storage error kinds).
//
// What it covers:
//   - drives and sites: GET /me/drive, /users/{id}/drive, /drives/{id},
//     /sites/{host}:/{path}, /sites/{id}/drives;
//   - driveItems: get by ID or path, children (an iter.Seq2 that follows
//     @odata.nextLink), create folder, PATCH (rename, move) and DELETE
//     with If-Match, server-side copy and its monitor URL, downloads
//     that follow the redirect to the pre-authenticated URL (with a Range
//     header to resume);
//   - delta: a drive's delta from the start or from a delta link
//     (token=latest for "now"), with 410 resync reported as
//     storage.ErrCursorExpired;
//   - uploads: a simple PUT for small files, upload sessions in fragments that
//     are multiples of 320 KiB, session status and cancel (the session URL
//     is pre-authenticated: no Authorization header is sent to it);
//   - change notifications: Subscribe, Subscriptions (GET /subscriptions,
//     an iter.Seq2 that follows @odata.nextLink), RenewSubscription,
//     DeleteSubscription, KeepSubscription (adopt what a crashed process
//     left, create, renew, re-create, delete on exit) and a Notifier that
//     answers the validation handshake and checks clientState.
//
// Every request is retried on 429, 503 and transport errors with
// back-off that honours Retry-After; a throttled tenant pauses every
// request that shares its Throttle, and an optional storage.Pacer (the
// sync engine's limiter) is waited on before each request. Bearer tokens
// go only to the Graph origin and, with Options.ContentTokens, to the
// tenant's SharePoint hosts; a token the service reports as expired is
// fetched again once. Token sources come from package msauth.
//
// Packages onedrive and sharepoint build a storage.Storage on this client;
// package graphtest is an in-process fake of the service.
package msgraph
