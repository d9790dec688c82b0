using Datapath.Tests.Support;

namespace Datapath.Tests.App;

/// <summary>`datapath -i` on a pseudo-terminal: waits for the prompt, types a command, returns what it printed.</summary>
public sealed class ConsoleSession : IDisposable
{
    public const string Prompt = "testpmd> ";
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    public PtyProcess Process { get; }

    public ConsoleSession(params string[] args)
    {
        Process = PtyProcess.Start("dotnet", [RepoPaths.DatapathDll, .. args]);
        if (!Process.WaitFor(Prompt, StartTimeout))
            throw new InvalidOperationException("no prompt from datapath -i:\n" + Process.Screen);
    }

    /// <summary>Types a line and Enter; returns the screen from the command to the next prompt.</summary>
    public string Run(string line) => Keys(line + "\r");

    /// <summary>Types keys; when they end a line, waits for the next prompt and returns the screen up to it.</summary>
    public string Keys(string keys)
    {
        int from = Process.Screen.Length;
        Process.Type(keys);
        if (!keys.EndsWith('\r')) return "";
        if (!Process.WaitFor("\n" + Prompt, CommandTimeout, from))
            throw new InvalidOperationException($"no prompt after '{keys.Trim()}':\n" + Process.Screen[from..]);
        string s = Process.Screen[from..];
        return s[..s.IndexOf("\n" + Prompt, StringComparison.Ordinal)];
    }

    public void Dispose() => Process.Dispose();
}
