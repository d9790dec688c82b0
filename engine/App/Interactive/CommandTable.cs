namespace Datapath.App.Interactive;

/// <summary>
/// The console's commands as a table (DPDK cmdline style): one row per command, matched word by
/// word. The table is also what `help` prints and what tab completion walks.
/// </summary>
public sealed class CommandTable(IEnumerable<CommandSpec> commands)
{
    public IReadOnlyList<CommandSpec> Commands { get; } = commands.ToList();

    public static string[] Split(string line) => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The command a line means, or null; <paramref name="near"/> lists the rows that share its first keywords.</summary>
    public CommandSpec? Find(IReadOnlyList<string> words, out IReadOnlyList<CommandSpec> near)
    {
        near = [];
        var match = Commands.FirstOrDefault(c => c.Matches(words));
        if (match is not null || words.Count == 0) return match;
        int best = Commands.Max(c => c.KeywordPrefix(words));
        if (best > 0) near = Commands.Where(c => c.KeywordPrefix(words) == best).ToList();
        return null;
    }

    /// <summary>
    /// Runs one line. A line that fits no command, or a handler that fails, prints a message and
    /// returns: the console stays up whatever is typed.
    /// </summary>
    public void Execute(string line, CommandContext ctx)
    {
        var words = Split(line);
        if (words.Length == 0 || words[0].StartsWith('#')) return;
        var cmd = Find(words, out var near);
        if (cmd is null)
        {
            if (near.Count == 0)
            {
                ctx.Out.WriteLine($"Command not found: '{words[0]}' (type 'help' for the list)");
                return;
            }
            ctx.Out.WriteLine("Bad arguments");
            foreach (var c in near) ctx.Out.WriteLine($"  usage: {c.Syntax}");
            return;
        }
        try
        {
            cmd.Handler(ctx, new CommandArgs(words));
        }
        catch (Exception e)
        {
            ctx.Out.WriteLine($"error: {e.Message}");
        }
    }

    /// <summary>
    /// Tab completion: the words that may follow <paramref name="textBeforeCursor"/> and start with
    /// its last, unfinished word.
    /// </summary>
    public IReadOnlyList<string> Complete(string textBeforeCursor)
    {
        var words = Split(textBeforeCursor);
        bool fresh = textBeforeCursor.Length == 0 || char.IsWhiteSpace(textBeforeCursor[^1]);
        string partial = fresh ? "" : words[^1];
        var done = fresh ? words : words[..^1];
        var result = new List<string>();
        foreach (var c in Commands)
        {
            if (c.Pattern.Length <= done.Length) continue;
            bool fits = true;
            for (int i = 0; i < done.Length && fits; i++) fits = c.Pattern[i].Accepts(done[i]);
            if (!fits) continue;
            foreach (string w in c.Pattern[done.Length].Candidates)
                if (w.StartsWith(partial, StringComparison.Ordinal) && !result.Contains(w)) result.Add(w);
        }
        return result;
    }
}
