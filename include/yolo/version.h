#ifndef YOLO_VERSION_H
#define YOLO_VERSION_H

#define YOLO_VERSION "0.1.0"

#endif
