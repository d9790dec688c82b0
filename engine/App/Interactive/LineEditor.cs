using System.Text;

namespace Datapath.App.Interactive;

/// <summary>
/// A small line editor over a raw byte stream (a terminal in non-canonical, no-echo mode): cursor
/// movement, history, and tab completion. It echoes what it draws, so the input stream can be any
/// Stream and the output any TextWriter, which is how its tests run it.
/// Keys: Left/Right, Home/End, Ctrl-A/E/B/F, Backspace, Delete, Ctrl-K/U/W, Up/Down (history),
/// Tab (complete; twice lists), Enter, Ctrl-D (end of input on an empty line).
/// </summary>
public sealed class LineEditor(Stream input, TextWriter output, Func<string, IReadOnlyList<string>> complete)
{
    const byte Esc = 0x1b;
    readonly List<string> _history = new();
    readonly StringBuilder _line = new();
    int _cursor;
    string _prompt = "";

    public IReadOnlyList<string> History => _history;
    public int MaxHistory { get; init; } = 500;

    /// <summary>Reads one line; null at end of input.</summary>
    public string? ReadLine(string prompt)
    {
        _prompt = prompt;
        _line.Clear();
        _cursor = 0;
        int historyIndex = _history.Count;
        string pending = "";
        bool lastWasTab = false;
        output.Write(prompt);
        output.Flush();
        while (true)
        {
            int b = input.ReadByte();
            if (b < 0) return Finish(null);
            bool tab = b == '\t';
            switch (b)
            {
                case '\r' or '\n':
                    return Finish(_line.ToString());
                case 0x04: // Ctrl-D
                    if (_line.Length == 0) return Finish(null);
                    DeleteAt(_cursor);
                    break;
                case 0x7f or 0x08:
                    if (_cursor > 0) { _cursor--; DeleteAt(_cursor); }
                    break;
                case 0x01: _cursor = 0; break;
                case 0x05: _cursor = _line.Length; break;
                case 0x02: if (_cursor > 0) _cursor--; break;
                case 0x06: if (_cursor < _line.Length) _cursor++; break;
                case 0x0b: _line.Length = _cursor; break;
                case 0x15: _line.Remove(0, _cursor); _cursor = 0; break;
                case 0x17: DeleteWordBack(); break;
                case '\t': Complete(lastWasTab); break;
                case Esc:
                    switch (ReadEscape())
                    {
                        case 'A': Recall(ref historyIndex, -1, ref pending); break;
                        case 'B': Recall(ref historyIndex, +1, ref pending); break;
                        case 'C': if (_cursor < _line.Length) _cursor++; break;
                        case 'D': if (_cursor > 0) _cursor--; break;
                        case 'H': _cursor = 0; break;
                        case 'F': _cursor = _line.Length; break;
                        case '3': if (_cursor < _line.Length) DeleteAt(_cursor); break;
                    }
                    break;
                default:
                    // Printable ASCII only: commands are ASCII, and a stray control byte must not land in the line.
                    if (b >= 0x20 && b < 0x7f)
                    {
                        bool atEnd = _cursor == _line.Length;
                        _line.Insert(_cursor, (char)b);
                        _cursor++;
                        if (atEnd)
                        {
                            // Typing at the end of the line echoes just the character, as a plain terminal would.
                            output.Write((char)b);
                            output.Flush();
                            lastWasTab = false;
                            continue;
                        }
                    }
                    break;
            }
            lastWasTab = tab;
            Redraw();
        }
    }

    string? Finish(string? line)
    {
        output.Write('\n');
        output.Flush();
        if (!string.IsNullOrWhiteSpace(line) && (_history.Count == 0 || _history[^1] != line))
        {
            _history.Add(line);
            if (_history.Count > MaxHistory) _history.RemoveAt(0);
        }
        return line;
    }

    /// <summary>
    /// Reads the rest of an escape sequence (ESC [ X, ESC O X, ESC [ n ~) and names the key by one
    /// character: A/B/C/D arrows, H/F home/end, 3 delete; 0 for anything else.
    /// </summary>
    char ReadEscape()
    {
        int kind = input.ReadByte();
        if (kind != '[' && kind != 'O') return '\0';
        int b = input.ReadByte();
        if (b is >= 'A' and <= 'Z') return (char)b;
        if (b is >= '0' and <= '9')
        {
            int digit = b;
            while (b is >= '0' and <= '9' or ';') b = input.ReadByte();
            if (b != '~') return '\0';
            return digit switch { '1' or '7' => 'H', '4' or '8' => 'F', '3' => '3', _ => '\0' };
        }
        return '\0';
    }

    void DeleteAt(int i) => _line.Remove(i, 1);

    void DeleteWordBack()
    {
        int start = _cursor;
        while (start > 0 && _line[start - 1] == ' ') start--;
        while (start > 0 && _line[start - 1] != ' ') start--;
        _line.Remove(start, _cursor - start);
        _cursor = start;
    }

    void Recall(ref int index, int step, ref string pending)
    {
        int next = index + step;
        if (next < 0 || next > _history.Count) return;
        if (index == _history.Count) pending = _line.ToString();
        index = next;
        _line.Clear().Append(index == _history.Count ? pending : _history[index]);
        _cursor = _line.Length;
    }

    void Complete(bool listIfAmbiguous)
    {
        string before = _line.ToString(0, _cursor);
        var candidates = complete(before);
        if (candidates.Count == 0) return;
        int wordStart = before.LastIndexOf(' ') + 1;
        string partial = before[wordStart..];
        string common = candidates.Aggregate(CommonPrefix);
        string add = common.Length > partial.Length ? common[partial.Length..] : "";
        if (candidates.Count == 1) add += " ";
        if (add.Length > 0)
        {
            _line.Insert(_cursor, add);
            _cursor += add.Length;
        }
        else if (listIfAmbiguous)
        {
            output.Write('\n');
            output.Write(string.Join("  ", candidates));
            output.Write('\n');
        }
    }

    static string CommonPrefix(string a, string b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return a[..n];
    }

    /// <summary>Redraws the whole line: carriage return, prompt, text, clear to end, cursor back into place.</summary>
    void Redraw()
    {
        output.Write('\r');
        output.Write(_prompt);
        output.Write(_line.ToString());
        output.Write("\x1b[K");
        int back = _line.Length - _cursor;
        if (back > 0) output.Write($"\x1b[{back}D");
        output.Flush();
    }
}
