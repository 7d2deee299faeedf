using System.Reactive.Disposables;
using System.Reactive.Linq;
using RxStreams.Framing;

namespace RxStreams.Samples.Chat;

/// <summary>
/// One client: its lines come in through <c>Reader.LinesText()</c>, the room's events go out through its writer.
/// Commands: <c>/nick NAME</c>, <c>/who</c>, <c>/quit</c>.
/// </summary>
internal sealed class ChatMember(ChatRoom room, StreamConnection connection)
{
    private const int MaxNameLength = 20;
    private readonly CompositeDisposable _subscriptions = [];
    private volatile string? _name;
    private int _left;

    public void Start()
    {
        Send("Welcome to RxStreams chat! Your nickname?");

        // Out: what others say, once we have a name. In: our lines, cut and decoded by the library.
        _subscriptions.Add(room.Events
            .Where(e => e.From != this && _name is not null)
            .Subscribe(e => Send(e.Text)));
        _subscriptions.Add(connection.Reader
            .LinesText(limit: ChatRoom.MaxLine, overflow: OverflowPolicy.Skip)
            .Select(line => line.Trim())
            .Subscribe(OnLine, _ => Leave(WhyLost()), () => Leave(null)));

        // However the connection ends (EOF, reset, disconnected for being too slow), the member leaves once.
        connection.Closed.ContinueWith(_ => Leave(WhyLost()), TaskScheduler.Default);
    }

    private void OnLine(string line)
    {
        if (_name is null)
        {
            Claim(line);
        }
        else if (line.StartsWith('/'))
        {
            Command(line);
        }
        else if (line.Length > 0)
        {
            room.Publish(this, $"<{_name}> {line}");
        }
    }

    private void Claim(string name)
    {
        if (!IsValidName(name))
        {
            Send($"A nickname is 1 to {MaxNameLength} letters, digits, '-' or '_'. Your nickname?");
        }
        else if (!room.TryClaim(name, this))
        {
            Send($"{name} is taken. Your nickname?");
        }
        else
        {
            _name = name;
            Send($"Hello {name}! In the room: {string.Join(", ", room.Names)}. Commands: /nick NAME, /who, /quit");
            room.Publish(this, $"* {name} joined");
        }
    }

    private void Command(string line)
    {
        var parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts[0].ToUpperInvariant())
        {
            case "/QUIT":
                Leave(null);
                break;
            case "/WHO":
                Send("In the room: " + string.Join(", ", room.Names));
                break;
            case "/NICK" when parts.Length == 2 && IsValidName(parts[1]):
                Rename(parts[1]);
                break;
            default:
                Send("Commands: /nick NAME, /who, /quit");
                break;
        }
    }

    private void Rename(string newName)
    {
        string oldName = _name!;
        if (!room.TryClaim(newName, this))
        {
            Send($"{newName} is taken.");
            return;
        }

        _name = newName;
        room.Release(oldName, this);
        Send($"You are now {newName}.");
        room.Publish(this, $"* {oldName} is now {newName}");
    }

    private void Leave(string? reason)
    {
        if (Interlocked.Exchange(ref _left, 1) != 0)
        {
            return;
        }

        _subscriptions.Dispose();
        if (_name is { } name)
        {
            room.Release(name, this);
            room.Publish(this, reason is null ? $"* {name} left" : $"* {name} left ({reason})");
        }

        if (!connection.Writer.IsClosing)
        {
            Send("Bye!");
        }

        connection.Dispose(); // a graceful close: what is buffered is sent first
    }

    private void Send(string text)
    {
        try
        {
            connection.Writer.WriteLine(text);
        }
        catch (Exception error) when (error is IOException or InvalidOperationException)
        {
            // Closed, lost, or past its buffer cap (which disconnected it): Closed makes it leave; the sender goes on.
        }
    }

    private string WhyLost() => connection.Error switch
    {
        WriteBufferOverflowException => "too slow: disconnected",
        null => "disconnected",
        _ => "connection lost",
    };

    private static bool IsValidName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
