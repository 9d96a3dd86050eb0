package msgraph

import "time"

// IdentitySet names who did something (user, application or device).
type IdentitySet struct {
	User        *Identity `json:"user,omitempty"`
	Application *Identity `json:"application,omitempty"`
	Device      *Identity `json:"device,omitempty"`
}

// Identity is one identity of an IdentitySet.
type Identity struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// Name returns the most human name in the set ("" if none).
func (s *IdentitySet) Name() string {
	if s == nil {
		return ""
	}
	for _, id := range []*Identity{s.User, s.Application, s.Device} {
		if id != nil && id.DisplayName != "" {
			return id.DisplayName
		}
	}
	return ""
}

// SharepointIDs are the SharePoint identifiers of an item or drive.
type SharepointIDs struct {
	ListID           string `json:"listId,omitempty"`
	ListItemID       string `json:"listItemId,omitempty"`
	ListItemUniqueID string `json:"listItemUniqueId,omitempty"`
	SiteID           string `json:"siteId,omitempty"`
	SiteURL          string `json:"siteUrl,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
	WebID            string `json:"webId,omitempty"`
}

// ItemReference points at an item (parentReference of a driveItem).
type ItemReference struct {
	DriveID       string         `json:"driveId,omitempty"`
	DriveType     string         `json:"driveType,omitempty"`
	ID            string         `json:"id,omitempty"`
	Name          string         `json:"name,omitempty"`
	Path          string         `json:"path,omitempty"`
	SiteID        string         `json:"siteId,omitempty"`
	SharepointIDs *SharepointIDs `json:"sharepointIds,omitempty"`
}

// Hashes are a file's content hashes.
type Hashes struct {
	QuickXorHash string `json:"quickXorHash,omitempty"`
	SHA1Hash     string `json:"sha1Hash,omitempty"`
	CRC32Hash    string `json:"crc32Hash,omitempty"`
}

// FileFacet marks a file.
type FileFacet struct {
	MimeType string  `json:"mimeType,omitempty"`
	Hashes   *Hashes `json:"hashes,omitempty"`
}

// FolderFacet marks a folder.
type FolderFacet struct {
	ChildCount int32 `json:"childCount"`
}

// DeletedFacet marks a deleted item in delta results.
type DeletedFacet struct {
	State string `json:"state,omitempty"`
}

// RootFacet marks a drive's root folder.
type RootFacet struct{}

// PackageFacet marks a package such as a OneNote notebook.
type PackageFacet struct {
	Type string `json:"type,omitempty"`
}

// FileSystemInfo holds the client-side timestamps, which are writable.
type FileSystemInfo struct {
	CreatedDateTime      *time.Time `json:"createdDateTime,omitempty"`
	LastModifiedDateTime *time.Time `json:"lastModifiedDateTime,omitempty"`
}

// DriveItem is a file or folder of a drive. Facets are pointers: present
// means true.
type DriveItem struct {
	ID                   string          `json:"id,omitempty"`
	Name                 string          `json:"name,omitempty"`
	ETag                 string          `json:"eTag,omitempty"`
	CTag                 string          `json:"cTag,omitempty"`
	Size                 *int64          `json:"size,omitempty"`
	CreatedDateTime      *time.Time      `json:"createdDateTime,omitempty"`
	LastModifiedDateTime *time.Time      `json:"lastModifiedDateTime,omitempty"`
	WebURL               string          `json:"webUrl,omitempty"`
	ParentReference      *ItemReference  `json:"parentReference,omitempty"`
	File                 *FileFacet      `json:"file,omitempty"`
	Folder               *FolderFacet    `json:"folder,omitempty"`
	Package              *PackageFacet   `json:"package,omitempty"`
	Deleted              *DeletedFacet   `json:"deleted,omitempty"`
	Root                 *RootFacet      `json:"root,omitempty"`
	FileSystemInfo       *FileSystemInfo `json:"fileSystemInfo,omitempty"`
	CreatedBy            *IdentitySet    `json:"createdBy,omitempty"`
	LastModifiedBy       *IdentitySet    `json:"lastModifiedBy,omitempty"`
	SharepointIDs        *SharepointIDs  `json:"sharepointIds,omitempty"`
	// DownloadURL is the pre-authenticated download URL. It is a secret.
	DownloadURL string `json:"@microsoft.graph.downloadUrl,omitempty"`
}

// IsDir reports whether the item is a folder (or a package that acts as
// one, which procoresync does not descend into).
func (it *DriveItem) IsDir() bool { return it.Folder != nil || it.Root != nil }

// SizeOrZero returns the item's size, 0 when absent.
func (it *DriveItem) SizeOrZero() int64 {
	if it.Size == nil {
		return 0
	}
	return *it.Size
}

// Quota is a drive's storage quota.
type Quota struct {
	Total     int64  `json:"total"`
	Used      int64  `json:"used"`
	Remaining int64  `json:"remaining"`
	Deleted   int64  `json:"deleted"`
	State     string `json:"state,omitempty"`
}

// Drive is a OneDrive or a SharePoint document library. Note the spelling
// sharePointIds (capital P) that drive alone uses.
type Drive struct {
	ID            string         `json:"id,omitempty"`
	Name          string         `json:"name,omitempty"`
	Description   string         `json:"description,omitempty"`
	DriveType     string         `json:"driveType,omitempty"`
	WebURL        string         `json:"webUrl,omitempty"`
	Owner         *IdentitySet   `json:"owner,omitempty"`
	Quota         *Quota         `json:"quota,omitempty"`
	SharePointIDs *SharepointIDs `json:"sharePointIds,omitempty"`
	System        *struct{}      `json:"system,omitempty"`
}

// Site is a SharePoint site.
type Site struct {
	ID            string         `json:"id,omitempty"`
	Name          string         `json:"name,omitempty"`
	DisplayName   string         `json:"displayName,omitempty"`
	WebURL        string         `json:"webUrl,omitempty"`
	SharepointIDs *SharepointIDs `json:"sharepointIds,omitempty"`
	Root          *RootFacet     `json:"root,omitempty"`
}

// UploadSession is the state of a resumable upload. UploadURL is a secret.
type UploadSession struct {
	UploadURL          string     `json:"uploadUrl,omitempty"`
	ExpirationDateTime *time.Time `json:"expirationDateTime,omitempty"`
	NextExpectedRanges []string   `json:"nextExpectedRanges,omitempty"`
}

// Subscription is a Graph change-notification subscription.
type Subscription struct {
	ID                 string     `json:"id,omitempty"`
	ChangeType         string     `json:"changeType,omitempty"`
	NotificationURL    string     `json:"notificationUrl,omitempty"`
	Resource           string     `json:"resource,omitempty"`
	ExpirationDateTime *time.Time `json:"expirationDateTime,omitempty"`
	ClientState        string     `json:"clientState,omitempty"`
}

// ChangeNotification is one notification of a webhook delivery.
type ChangeNotification struct {
	SubscriptionID                 string     `json:"subscriptionId"`
	SubscriptionExpirationDateTime *time.Time `json:"subscriptionExpirationDateTime,omitempty"`
	ClientState                    string     `json:"clientState,omitempty"`
	ChangeType                     string     `json:"changeType"`
	Resource                       string     `json:"resource"`
	TenantID                       string     `json:"tenantId,omitempty"`
}

// ChangeNotificationCollection is the body of a webhook delivery.
type ChangeNotificationCollection struct {
	Value []ChangeNotification `json:"value"`
}

// AsyncJobStatus is what the monitor URL of a long-running action (a
// copy) reports.
type AsyncJobStatus struct {
	Operation          string  `json:"operation,omitempty"`
	PercentageComplete float64 `json:"percentageComplete,omitempty"`
	// Status is notStarted, inProgress, completed, updating, failed,
	// deletePending, deleteFailed or waiting.
	Status     string `json:"status,omitempty"`
	ResourceID string `json:"resourceId,omitempty"`
	ErrorCode  string `json:"errorCode,omitempty"`
}
