namespace Datapath.App.Running;

/// <summary>
/// What reaches the main lcore's control loop from other threads, through a Channel (DESIGN.md:
/// control-plane events move through Channels; the data path never touches one).
/// </summary>
public abstract record ControlEvent
{
    /// <summary>A line typed at the console.</summary>
    public sealed record Line(string Text) : ControlEvent;
    /// <summary>The console's input ended (Ctrl-D, or the end of a piped script).</summary>
    public sealed record InputEnded : ControlEvent;
    /// <summary>SIGINT or SIGTERM: stop cleanly.</summary>
    public sealed record Signal(string Name) : ControlEvent;
}
