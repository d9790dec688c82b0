namespace Datapath.App.Interactive;

/// <summary>
/// One row of the console's command table: its syntax (keywords, `a|b` alternatives, `&lt;values&gt;`,
/// `[optional]` trailing words), one line of help, and the handler that runs it.
/// </summary>
public sealed class CommandSpec
{
    public string Syntax { get; }
    public string Help { get; }
    public PatternToken[] Pattern { get; }
    public Action<CommandContext, CommandArgs> Handler { get; }

    public CommandSpec(string syntax, string help, Action<CommandContext, CommandArgs> handler)
    {
        Syntax = syntax;
        Help = help;
        Handler = handler;
        Pattern = syntax.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(PatternToken.Parse).ToArray();
        int firstOptional = Array.FindIndex(Pattern, t => t.Optional);
        if (firstOptional >= 0 && Pattern[firstOptional..].Any(t => !t.Optional))
            throw new ArgumentException($"command syntax '{syntax}': optional words must come last");
    }

    int Required => Pattern.Count(t => !t.Optional);

    /// <summary>True when every word of the line fits this command.</summary>
    public bool Matches(IReadOnlyList<string> words)
    {
        if (words.Count < Required || words.Count > Pattern.Length) return false;
        for (int i = 0; i < words.Count; i++)
            if (!Pattern[i].Accepts(words[i])) return false;
        return true;
    }

    /// <summary>How many leading words of the line match this command's leading keywords.</summary>
    public int KeywordPrefix(IReadOnlyList<string> words)
    {
        int n = 0;
        while (n < words.Count && n < Pattern.Length && Pattern[n].IsKeyword && Pattern[n].Accepts(words[n])) n++;
        return n;
    }
}
