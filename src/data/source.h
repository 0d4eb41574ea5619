// What `predict` reads (source=): an image file, a folder (its files, not its subfolders), a glob
// pattern, or a .txt file listing any of these one per line (lines relative to the current folder
// or else to the list's folder), expanded as Ultralytics' LoadImagesAndVideos does: every part
// sorted, files kept by their image suffix. Paths come out absolute (not resolved: symlinks stay).
#ifndef YOLO_DATA_SOURCE_H
#define YOLO_DATA_SOURCE_H

typedef struct {
    int n;
    char **paths; // [n]
} SourceList;

// -1 with a message naming the part that does not exist, or the source when it has no image (a
// folder of videos, or images in a format this build does not decode, is named as such).
int source_expand(const char *source, SourceList *out);
void source_list_free(SourceList *s);

#endif
