namespace Datapath.Engine.Logging;

/// <summary>
/// One-line control-plane log messages ("VHOST_CONFIG: (/tmp/vhu.sock) new connection"), to stderr
/// by default. Never called from a data path. Never throws: a line that cannot be written (stderr
/// closed, or the process out of fds while the console is first opened) is dropped, so that logging
/// a failure on a control thread cannot end the process.
/// </summary>
public static class EngineLog
{
    // Opened at the first line, not in a type initializer: one that failed would fail every later call.
    static TextWriter? s_writer;
    static readonly object s_lock = new();

    public static void SetWriter(TextWriter writer)
    {
        lock (s_lock) s_writer = writer;
    }

    public static void Info(string component, string message)
    {
        lock (s_lock)
        {
            try
            {
                (s_writer ??= OpenStandardError()).WriteLine($"{component}: {message}");
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
            }
        }
    }

    // A method of its own: the assembly behind Console is loaded when this is compiled, inside the
    // try above (a FileNotFoundException when the process has no fd left to open it with).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static TextWriter OpenStandardError() => Console.Error;
}
