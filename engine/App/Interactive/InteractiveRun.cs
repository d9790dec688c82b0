using Datapath.App.Running;
using Microsoft.Win32.SafeHandles;

namespace Datapath.App.Interactive;

/// <summary>
/// `-i`: the testpmd-like console. Lines are edited on the console thread and run on the main
/// lcore by the control loop; quit, end of input, SIGINT or SIGTERM stop forwarding (printing the
/// forward statistics as `stop` does) and exit 0.
/// </summary>
public static class InteractiveRun
{
    /// <summary>testpmd's prompt, kept so that scripts which wait for it (DTS and the like) drive us unchanged.</summary>
    public const string Prompt = "testpmd> ";

    public static int Run(EngineHost host, TextWriter output)
    {
        var app = host.CommandLine.App;
        var session = new ForwardSession(host.Forwarding, host.Ports);
        var table = ConsoleCommands.Create();
        var ctx = new CommandContext(host, session, output) { Table = table };
        using var loop = new ControlLoop();
        using var statsFile = app.StatsFile is null ? null : new StatsFile(app.StatsFile);

        output.WriteLine("Interactive-mode selected");
        if (app.AutoStart)
        {
            output.WriteLine("Auto-start selected");
            table.Execute(app.TxFirst ? "start tx_first" : "start", ctx);
        }

        using var terminal = TerminalMode.TryEnter();
        var reader = new ConsoleReader(loop.Events, LineSource(terminal is not null, table, output));
        reader.Start();

        loop.Run(ev =>
        {
            switch (ev)
            {
                case ControlEvent.Line line:
                    table.Execute(line.Text, ctx);
                    if (ctx.QuitRequested) return false;
                    reader.CommandDone();
                    return true;
                case ControlEvent.Signal s:
                    output.WriteLine();
                    output.WriteLine($"Signal {s.Name} received, preparing to exit...");
                    return false;
                default:
                    return false;
            }
        }, statsFile is null ? null : TimeSpan.FromSeconds(app.StatsPeriod > 0 ? app.StatsPeriod : 1), () =>
        {
            statsFile!.Write(host);
            return true;
        });

        terminal?.Dispose();
        if (session.Running) table.Execute("stop", ctx);
        statsFile?.Write(host);
        output.WriteLine();
        output.WriteLine("Stopping port(s)...");
        output.WriteLine("Bye...");
        return 0;
    }

    /// <summary>A line editor on a terminal; plain lines from a pipe (a script fed to `datapath -i`).</summary>
    static Func<string?> LineSource(bool terminal, CommandTable table, TextWriter output)
    {
        if (!terminal)
        {
            return () =>
            {
                output.Write(Prompt);
                output.Flush();
                return Console.In.ReadLine();
            };
        }
        // Bytes straight from fd 0: System.Console's own stdin stream line-edits a terminal itself.
        var stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
        var editor = new LineEditor(stdin, output, table.Complete);
        return () => editor.ReadLine(Prompt);
    }
}
