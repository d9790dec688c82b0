using Datapath.App.Running;
using Datapath.Engine.Ports;

namespace Datapath.App.Interactive;

/// <summary>What a command handler works on: the engine, this run's forwarding session, the screen.</summary>
public sealed class CommandContext(EngineHost host, ForwardSession session, TextWriter output)
{
    public EngineHost Host { get; } = host;
    public ForwardSession Session { get; } = session;
    public TextWriter Out { get; } = output;
    /// <summary>Remembers the last `show port stats` per port, for the throughput block.</summary>
    public StatsPrinter Stats { get; } = new();
    public CommandTable Table { get; set; } = new([]);
    public bool QuitRequested { get; set; }

    /// <summary>The ports a `&lt;port&gt;` word names: one, or all of them for `all`.</summary>
    public IEnumerable<Port> Ports(int? id) => id is { } i ? [Host.Ports[i]] : Host.Ports.All;

    /// <summary>testpmd refuses to reconfigure under traffic; so do we.</summary>
    public void RequireStopped()
    {
        if (Session.Running) throw new InvalidOperationException("Please stop forwarding first");
    }
}
