namespace Datapath.App.Interactive;

/// <summary>The words of a matched command line, read by position, with the value helpers handlers need.</summary>
public sealed class CommandArgs(IReadOnlyList<string> words)
{
    public IReadOnlyList<string> Words { get; } = words;
    public int Count => Words.Count;
    public string this[int i] => Words[i];
    public bool Has(int i) => i < Words.Count;

    public int Int(int i) => int.Parse(Words[i]);

    /// <summary>A `&lt;port&gt;` word: null for `all`, else the port id.</summary>
    public int? Port(int i) => Words[i] == "all" ? null : int.Parse(Words[i]);
}
