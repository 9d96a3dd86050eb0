// Package projects makes a Procore project the unit of synchronisation: a
// Project names a company, a project, the tools chosen (Documents and
// Photos two-way, the record tools one way, the Daily Log, company
// Documents), a target storage and folder, and the options people set per
// project or integration; a Manager turns it into the engine's pairs,
// creates and protects the layout
//
//	<root>/<project name>/<Tool>
//	<root>/Company Documents
//
// and adds, updates and removes projects and single tools while the
// engine runs, without losing a pair's state.
//
// Layout protection: the project folder and the tool folders are found by
// their item IDs. A folder a person renamed or moved is followed (the
// pairs' roots move with it) and a folder that vanished pauses the pairs
// (nothing is deleted on the Procore side); both are reported to the
// Manager's Notifier (EventProtectedFolderRenamed,
// EventProtectedFolderDeleted).
//
// The Daily Log tool also brings photos back: a photo a person drops into
// "Daily Log/<day>/Photos/" on the target becomes a Daily Log image of
// that day in Procore (records.DailyLogPhotoImporter), once, remembered in
// a records.FileImportLog next to the metadata store.
package projects
