namespace Datapath.Engine.Logging;

/// <summary>
/// One-line control-plane log messages ("VHOST_CONFIG: (/tmp/vhu.sock) new connection"), to stderr
/// by default. Never called from a data path.
/// </summary>
public static class EngineLog
{
    static TextWriter s_writer = Console.Error;
    static readonly object s_lock = new();

    public static void SetWriter(TextWriter writer) => s_writer = writer;

    public static void Info(string component, string message)
    {
        lock (s_lock) s_writer.WriteLine($"{component}: {message}");
    }
}
