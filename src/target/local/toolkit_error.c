// toolkit_error.c: the message the SageMaker training toolkit writes to
// output/failure when the user's script exits non-zero and wrote none itself
// (its _CalledProcessError.__str__, from process.check_error):
//
//   ExecuteUserScriptError:
//   ExitCode 1
//   ErrorMessage "raise ValueError("boom")
//    ValueError: boom"
//   Command "python3 train.py --epochs 10"
//
// ErrorMessage holds the script's error output from the first line that names a
// Python exception on: each line stripped of spaces and colons at both ends,
// joined with "\n ", repeated lines once. The toolkit reads stderr only; the
// local target has one log per host (stdout and stderr together), so the
// lines are taken from the end of that log. Exit code 137 adds the toolkit's
// ExtraInfo about the out-of-memory kill.
#include <stdlib.h>
#include <string.h>

#include "target/local/local.h"

// What the toolkit watches for (its _PYTHON_ERRORS_ and _MPI_ERRORS_).
static const char *const tke_names[] = {"BaseException",
                                        "Exception",
                                        "ArithmeticError",
                                        "AssertionError",
                                        "AttributeError",
                                        "BlockingIOError",
                                        "BrokenPipeError",
                                        "BufferError",
                                        "ChildProcessError",
                                        "ConnectionAbortedError",
                                        "ConnectionError",
                                        "ConnectionRefusedError",
                                        "ConnectionResetError",
                                        "EOFError",
                                        "EnvironmentError",
                                        "FileExistsError",
                                        "FileNotFoundError",
                                        "FloatingPointError",
                                        "IOError",
                                        "ImportError",
                                        "IndentationError",
                                        "IndexError",
                                        "InterruptedError",
                                        "IsADirectoryError",
                                        "KeyError",
                                        "LookupError",
                                        "MemoryError",
                                        "ModuleNotFoundError",
                                        "NameError",
                                        "NotADirectoryError",
                                        "NotImplementedError",
                                        "OSError",
                                        "OverflowError",
                                        "PermissionError",
                                        "ProcessLookupError",
                                        "RecursionError",
                                        "ReferenceError",
                                        "RuntimeError",
                                        "SyntaxError",
                                        "SystemError",
                                        "TabError",
                                        "TimeoutError",
                                        "TypeError",
                                        "UnboundLocalError",
                                        "UnicodeDecodeError",
                                        "UnicodeEncodeError",
                                        "UnicodeError",
                                        "UnicodeTranslateError",
                                        "ValueError",
                                        "ZeroDivisionError",
                                        "Invalidrequirement",
                                        "ResourceExhaustedError",
                                        "OutOfRangeError",
                                        "InvalidArgumentError",
                                        "mpirun.real",
                                        "ORTE"};

// How much of the end of the log is looked at.
#define TKE_TAIL (64 * 1024)

static bool tke_names_error(const char *line)
{
  for (size_t i = 0; i < SMF_ARRAY_LEN(tke_names); i++) {
    if (strstr(line, tke_names[i])) {
      return true;
    }
  }
  return false;
}

// Appends one stripped line unless the message already has it.
static void tke_add_line(struct smf_buf *msg, const char *line, size_t n)
{
  while (n && strchr(" :\r", line[0])) {
    line++;
    n--;
  }
  while (n && strchr(" :\r", line[n - 1])) {
    n--;
  }
  char *piece = smf_xasprintf("%s%.*s", msg->len ? " " : "", (int)n, line);
  const char *have = msg->len ? smf_buf_cstr(msg) : "";
  bool dup = false;
  for (const char *p = have; *p && !dup;) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    // Pieces after the first start with " " in the message and in piece alike.
    dup = len == strlen(piece) && memcmp(p, piece, len) == 0;
    p = e ? e + 1 : p + len;
  }
  if (!dup) {
    if (msg->len) {
      smf_buf_puts(msg, "\n");
    }
    smf_buf_puts(msg, piece);
  }
  free(piece);
}

static void tke_error_lines(const char *log, struct smf_buf *msg)
{
  bool started = false;
  for (const char *p = log; *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *line = smf_xstrndup(p, n);
    started = started || tke_names_error(line);
    if (started) {
      tke_add_line(msg, line, n);
    }
    free(line);
    p = e ? e + 1 : p + n;
  }
}

char *local_tk_error_message(int exit_code, const char *log_path, char *const *argv)
{
  struct smf_buf msg = SMF_BUF_INIT, out = SMF_BUF_INIT;
  char *tail = log_path ? local_file_tail(log_path, TKE_TAIL) : NULL;
  if (tail) {
    // A tail that starts inside a line: drop the partial line.
    const char *from = tail;
    char *nl = strchr(tail, '\n');
    if (strlen(tail) >= TKE_TAIL && nl) {
      from = nl + 1;
    }
    tke_error_lines(from, &msg);
  }
  smf_buf_printf(&out, "ExecuteUserScriptError:\nExitCode %d\nErrorMessage \"%s\"\n", exit_code,
                 msg.len ? smf_buf_cstr(&msg) : "");
  if (exit_code == 137) {
    smf_buf_puts(&out, "ExtraInfo \"OutOfMemory: Process killed by SIGKILL (signal 9)\"\n");
  }
  smf_buf_puts(&out, "Command \"");
  for (size_t i = 0; argv && argv[i]; i++) {
    smf_buf_printf(&out, "%s%s", i ? " " : "", argv[i]);
  }
  smf_buf_puts(&out, "\"");
  free(tail);
  smf_buf_free(&msg);
  smf_buf_cstr(&out);
  return smf_buf_steal(&out);
}
