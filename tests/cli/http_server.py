"""A local HTTP server for tests/cli/download.sh: serves a folder on 127.0.0.1 at a free port.

usage: http_server.py FOLDER PORT_FILE

The port is written to PORT_FILE once the server listens. Besides plain files (python's
http.server), two path prefixes misbehave on purpose:
  /flaky/NAME  the first request for NAME announces its full length, sends half and hangs up;
               later requests get the whole file (a dropped connection that a retry survives)
  /slow/NAME   sends NAME in 1 KiB pieces 50 ms apart (time to interrupt a download)
  /moved/NAME  redirects (302) to /NAME, as GitHub release assets do
The server exits by itself when the shell that started it is gone, or after 10 minutes, so a
test killed midway leaves no server behind.
"""

import http.server
import os
import sys
import threading
import time

root, port_file = sys.argv[1], sys.argv[2]
parent = os.getppid()
flaky_seen = set()


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def log_message(self, *args):
        pass  # the test's output is yolo's, not the server's

    def send_file(self, name, keep):
        data = open(os.path.join(root, name), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return data[:keep(len(data))]

    def do_GET(self):
        try:
            if self.path.startswith("/flaky/"):
                name = self.path[len("/flaky/"):]
                first = name not in flaky_seen
                flaky_seen.add(name)
                self.wfile.write(self.send_file(name, lambda n: n // 2 if first else n))
                self.close_connection = True
            elif self.path.startswith("/moved/"):
                self.send_response(302)
                self.send_header("Location", "/" + self.path[len("/moved/"):])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/slow/"):
                data = self.send_file(self.path[len("/slow/"):], lambda n: n)
                for i in range(0, len(data), 1024):
                    self.wfile.write(data[i:i + 1024])
                    self.wfile.flush()
                    time.sleep(0.05)
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as some tests make it


def watchdog():
    deadline = time.time() + 600
    while os.getppid() == parent and time.time() < deadline:
        time.sleep(0.2)
    os._exit(0)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=watchdog, daemon=True).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
