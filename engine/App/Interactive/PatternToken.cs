namespace Datapath.App.Interactive;

/// <summary>
/// One word of a command's syntax: a keyword with its alternatives (`info|summary`), or a value
/// (`&lt;port&gt;`), either of which may be optional when written in brackets (`[json]`).
/// </summary>
public sealed record PatternToken(string[] Keywords, ValueKind? Value, bool Optional)
{
    public bool IsKeyword => Value is null;

    public static PatternToken Parse(string word)
    {
        bool optional = word.StartsWith('[') && word.EndsWith(']');
        if (optional) word = word[1..^1];
        if (word.StartsWith('<') && word.EndsWith('>'))
            return new PatternToken([], ValueKind.Named(word[1..^1]), optional);
        return new PatternToken(word.Split('|'), null, optional);
    }

    public bool Accepts(string text) => IsKeyword ? Keywords.Contains(text) : Value!.Accepts(text);

    /// <summary>Words that tab completion may offer at this position.</summary>
    public IEnumerable<string> Candidates => IsKeyword ? Keywords : Value!.Candidates();

    public override string ToString()
    {
        string s = IsKeyword ? string.Join('|', Keywords) : $"<{Value!.Name}>";
        return Optional ? $"[{s}]" : s;
    }
}
