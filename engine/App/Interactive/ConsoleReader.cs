using System.Threading.Channels;
using Datapath.App.Running;

namespace Datapath.App.Interactive;

/// <summary>
/// Reads console lines on a thread of its own and hands each to the control loop as an event; it
/// prompts again only once the loop has run the command, so command output and the prompt never
/// interleave. A background thread: blocked in a read, it does not hold the process up at quit.
/// </summary>
public sealed class ConsoleReader(ChannelWriter<ControlEvent> events, Func<string?> readLine)
{
    readonly Channel<bool> _done = Channel.CreateBounded<bool>(1);

    public void Start() => new Thread(Run) { IsBackground = true, Name = "console" }.Start();

    /// <summary>The loop ran the last line: read the next.</summary>
    public void CommandDone() => _done.Writer.TryWrite(true);

    void Run()
    {
        while (true)
        {
            string? line = readLine();
            if (line is null)
            {
                events.TryWrite(new ControlEvent.InputEnded());
                return;
            }
            events.TryWrite(new ControlEvent.Line(line));
            _done.Reader.ReadAsync().AsTask().Wait();
        }
    }
}
