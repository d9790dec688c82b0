namespace Datapath.App.Running;

/// <summary>
/// `--stats-file PATH`: appends one JSON line of port counters per period (and one at exit),
/// flushed at once so a reader tailing the file sees whole lines.
/// </summary>
public sealed class StatsFile(string path) : IDisposable
{
    readonly StreamWriter _writer = new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };

    public void Write(EngineHost host) => _writer.WriteLine(StatsJson.Line(host.Ports.All, DateTime.UtcNow));

    public void Dispose() => _writer.Dispose();
}
