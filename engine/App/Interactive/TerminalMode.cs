using Datapath.Hugepages.Native;

namespace Datapath.App.Interactive;

/// <summary>
/// Puts the terminal on stdin into the mode a line editor needs (no canonical line buffering, no
/// kernel echo; signals and output processing stay, so Ctrl-C still quits and "\n" still ends a
/// line) and restores the saved settings on dispose, including on the way out of a failure.
/// </summary>
public sealed unsafe class TerminalMode : IDisposable
{
    const int Stdin = 0;
    readonly Libc.Termios _saved;
    bool _restored;

    TerminalMode(Libc.Termios saved) => _saved = saved;

    /// <summary>Raw mode on stdin, or null when stdin is not a terminal (a pipe, a file).</summary>
    public static TerminalMode? TryEnter()
    {
        if (Libc.IsATty(Stdin) != 1) return null;
        Libc.Termios t;
        SystemCallException.Check(Libc.TcGetAttr(Stdin, &t), "tcgetattr", "stdin");
        var saved = t;
        t.LFlag &= ~(Libc.ICANON | Libc.ECHO | Libc.IEXTEN);
        t.Cc[Libc.VMIN] = 1;
        t.Cc[Libc.VTIME] = 0;
        SystemCallException.Check(Libc.TcSetAttr(Stdin, Libc.TCSANOW, &t), "tcsetattr", "stdin");
        var mode = new TerminalMode(saved);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => mode.Dispose();
        return mode;
    }

    public void Dispose()
    {
        if (_restored) return;
        _restored = true;
        var t = _saved;
        Libc.TcSetAttr(Stdin, Libc.TCSANOW, &t);
    }
}
