namespace Datapath.App.Running;

/// <summary>
/// Without -i: forward at once, print port statistics every --stats-period seconds, append to
/// --stats-file, and on SIGINT/SIGTERM (or after --run-seconds) stop, print the final statistics
/// and exit 0.
/// </summary>
public static class NonInteractiveRun
{
    public static int Run(EngineHost host, TextWriter output)
    {
        var app = host.CommandLine.App;
        var session = new ForwardSession(host.Forwarding, host.Ports);
        using var loop = new ControlLoop();
        using var statsFile = app.StatsFile is null ? null : new StatsFile(app.StatsFile);
        var printer = new StatsPrinter();

        session.Start(app.TxFirst ? 1 : 0);
        output.WriteLine("Press Ctrl-C to stop forwarding and quit.");
        var deadline = app.RunSeconds > 0 ? DateTime.UtcNow.AddSeconds(app.RunSeconds) : DateTime.MaxValue;
        // The stats file and the deadline follow the stats period, or a second when there is none.
        TimeSpan? period = app.StatsPeriod > 0 ? TimeSpan.FromSeconds(app.StatsPeriod)
            : statsFile is not null || app.RunSeconds > 0 ? TimeSpan.FromSeconds(1) : null;
        if (app.RunSeconds > 0 && period > TimeSpan.FromSeconds(app.RunSeconds)) period = TimeSpan.FromSeconds(app.RunSeconds);

        loop.Run(ev => ev is not ControlEvent.Signal, period, () =>
        {
            if (app.StatsPeriod > 0)
                foreach (var p in host.Ports.All) printer.PrintPortStats(output, p);
            statsFile?.Write(host);
            return DateTime.UtcNow < deadline;
        });

        output.WriteLine("Telling cores to stop...");
        output.WriteLine("Waiting for lcores to finish...");
        session.Stop();
        ForwardStatsPrinter.Print(output, session);
        foreach (var p in host.Ports.All) printer.PrintPortStats(output, p);
        statsFile?.Write(host);
        output.WriteLine();
        output.WriteLine("Bye...");
        return 0;
    }
}
