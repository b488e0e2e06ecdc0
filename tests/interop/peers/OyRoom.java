// OyRoom.java - OpenYMSG's LEGACY API (the kit's build, org.openymsg.legacy.network.Session) in a chat room,
// for oyconf_peers.py.  The new API (OyDrive, OyConf) has no chat rooms; the legacy Session does: its room list
// comes from /ycontent/ (ChatroomManager, YahooChatCategory.loadRooms), its joins name a lobby "room:lobby"
// (chatLogin), and every room packet it receives is resolved against the lobbies it loaded.  This driver logs
// one account in, drives that API from commands on stdin and prints every chat event as one line on stdout.
// Compiled by oyconf_peers.py into the build directory against the kit's classes.
//
// Usage: java -cp OUTDIR:KITCLASSPATH OyRoom USER PASSWORD
// Hosts: OpenYMSG's defaults; the kit's yahoo_shim.so (LD_PRELOAD, SHIM_PORTMAP) sends its connections (the
// pager on 5050, https://login.yahoo.com, http://insider.msg.yahoo.com) to the test's ymsgd.
//
// Commands, one per line (end of input = quit); TEXT is the rest of the line:
//   list          ChatroomManager.loadCategories(), every category's loadRooms(), then the root's loadRooms()
//                 (the root's lobbies are the ones Session resolves packets against)
//   join NETNAME  chatLogin(the root's lobby NETNAME)
//   msg TEXT      sendChatMessage        emote TEXT   sendChatEmote
//   leave         chatLogout             quit         logout and exit
// Events, one per line, "EV HH:MM:SS NAME ARGS"; name lists are sorted and comma-separated ("-" when empty):
//   login USER | authenticationSuccess | authenticationFailure E | cmd LINE | cmd-exception E
//   category id=ID name=N                       (one per category of the list)
//   room cat=ID id=ID name=N topic=T lobbies=L  (one per room of a category; L = the lobbies' network names)
//   root lobbies=L                              (the root category's lobbies)
//   chat-login lobby=L members=L                (chatLogin returned; members = the lobby's users then)
//   chat-login-failed E
//   chat-join lobby=L who=L | chat-exit lobby=L who=L | chat-update lobby=L who=L
//   chat-message lobby=L from=W emote=B msg=M
//   chat-captcha lobby=L msg=M | chat-disconnect
//   exit state=STATE
import org.openymsg.legacy.network.FireEvent;
import org.openymsg.legacy.network.PacketBodyBuffer;
import org.openymsg.legacy.network.ServiceType;
import org.openymsg.legacy.network.Session;
import org.openymsg.legacy.network.SessionState;
import org.openymsg.legacy.network.chatroom.ChatroomManager;
import org.openymsg.legacy.network.chatroom.YahooChatCategory;
import org.openymsg.legacy.network.chatroom.YahooChatLobby;
import org.openymsg.legacy.network.chatroom.YahooChatRoom;
import org.openymsg.legacy.network.chatroom.YahooChatUser;
import org.openymsg.legacy.network.event.SessionChatEvent;
import org.openymsg.legacy.network.event.SessionListener;
import java.io.*;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.*;

public class OyRoom implements SessionListener {
	/**
	 * OpenYMSG's legacy Session with one repair.  Its chatLogin cannot succeed as written in 764ab11: it
	 * requires the session LOGGED_ON (checkStatus) and then calls transmitChatJoin, which throws unless the
	 * session is CONNECTED (the state before LOGGED_ON).  This override sends what transmitChatJoin sends
	 * (1, 104 = room:lobby, 129, 62 = 2, service 0x98) without that check; every packet it receives is still
	 * handled by OpenYMSG's own code (receiveChatJoin, receiveChatMsg, receiveChatExit, ...).
	 */
	static class RoomSession extends Session {
		/** the logged-in id (Session keeps it in private fields) */
		String me;

		@Override
		protected void transmitChatJoin(String netname, long roomId) throws IOException {
			PacketBodyBuffer body = new PacketBodyBuffer();
			body.addElement("1", me);
			body.addElement("104", netname);
			body.addElement("129", Long.toString(roomId));
			body.addElement("62", "2");
			sendPacket(body, ServiceType.CHATJOIN);
		}
	}

	/** OpenYMSG's legacy session */
	static RoomSession session;
	/** the room list; its root is shared with the Session's own manager (OpenYMSG keeps roots per locale, static) */
	static final ChatroomManager rooms = new ChatroomManager(null, null);
	/** the root category of the last "list" */
	static YahooChatCategory root;

	static synchronized void ev(String s) {
		System.out.println("EV " + new SimpleDateFormat("HH:mm:ss").format(new Date()) + " " + s);
		System.out.flush();
	}

	static String users(Collection<YahooChatUser> set) {
		TreeSet<String> n = new TreeSet<>();
		if (set != null) for (YahooChatUser u : set) if (u != null) n.add(u.getId());
		return n.isEmpty() ? "-" : String.join(",", n);
	}

	static String lobbies(Collection<YahooChatLobby> set) {
		TreeSet<String> n = new TreeSet<>();
		for (YahooChatLobby l : set) n.add(l.getNetworkName());
		return n.isEmpty() ? "-" : String.join(",", n);
	}

	static String lobbyName(YahooChatLobby l) {
		return l == null ? "-" : l.getNetworkName();
	}

	@Override
	public void dispatch(FireEvent fe) {
		if (!(fe.getEvent() instanceof SessionChatEvent)) {
			if (fe.getType() == ServiceType.CHATDISCONNECT) ev("chat-disconnect");
			return;
		}
		SessionChatEvent e = (SessionChatEvent) fe.getEvent();
		String lobby = lobbyName(e.getLobby());
		ServiceType t = fe.getType();
		if (t == ServiceType.CHATJOIN) ev("chat-join lobby=" + lobby + " who=" + users(Arrays.asList(e.getChatUsers())));
		else if (t == ServiceType.CHATEXIT) ev("chat-exit lobby=" + lobby + " who=" + users(Arrays.asList(e.getChatUsers())));
		else if (t == ServiceType.X_CHATUPDATE)
			ev("chat-update lobby=" + lobby + " who=" + users(Arrays.asList(e.getChatUsers())));
		else if (t == ServiceType.CHATMSG)
			ev("chat-message lobby=" + lobby + " from=" + e.getFrom() + " emote=" + e.isEmote() + " msg=" + e.getMessage());
		else if (t == ServiceType.X_CHATCAPTCHA) ev("chat-captcha lobby=" + lobby + " msg=" + e.getCaptchaMessage());
	}

	static void list() throws Exception {
		root = rooms.loadCategories();
		List<YahooChatCategory> cats = new ArrayList<>(root.getSubcategories());
		cats.sort(Comparator.comparingLong(YahooChatCategory::getId));
		for (YahooChatCategory c : cats) {
			ev("category id=" + c.getId() + " name=" + c.getName());
			c.loadRooms();
			List<YahooChatRoom> rs = new ArrayList<>(c.getPublicRooms());
			rs.addAll(c.getPrivateRooms());
			rs.sort(Comparator.comparingLong(YahooChatRoom::getId));
			for (YahooChatRoom r : rs)
				ev("room cat=" + c.getId() + " id=" + r.getId() + " name=" + r.getName() + " topic=" + r.getTopic()
						+ " lobbies=" + lobbies(r.getLobbies()));
		}
		root.loadRooms();
		List<YahooChatLobby> all = new ArrayList<>();
		for (YahooChatRoom r : root.getPublicRooms()) all.addAll(r.getLobbies());
		for (YahooChatRoom r : root.getPrivateRooms()) all.addAll(r.getLobbies());
		ev("root lobbies=" + lobbies(all));
	}

	static void command(String line) throws Exception {
		String[] w = line.split(" ", 2);
		String rest = w.length > 1 ? w[1] : "";
		switch (w[0]) {
		case "list":
			list();
			break;
		case "join": {
			YahooChatLobby l = rooms.getLobby(rest);
			if (l == null) {
				ev("chat-login-failed no lobby " + rest + " in the list");
				break;
			}
			try {
				session.chatLogin(l);
				ev("chat-login lobby=" + lobbyName(session.getCurrentChatLobby()) + " members=" + users(l.getMembers()));
			} catch (Exception e) {
				ev("chat-login-failed " + e);
				session.resetChat();
			}
			break;
		}
		case "msg":
			session.sendChatMessage(rest);
			break;
		case "emote":
			session.sendChatEmote(rest);
			break;
		case "leave":
			session.chatLogout();
			break;
		default:
			ev("unknown command");
		}
	}

	public static void main(String[] a) throws Exception {
		System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8"));
		if (a.length < 2) {
			System.err.println("usage: OyRoom USER PASSWORD");
			System.exit(2);
		}
		session = new RoomSession();
		session.me = a[0].toLowerCase();
		// OpenYMSG's own defect, not the server's: a new Session leaves chatSessionStatus null, and chatLogin
		// accepts only UNSTARTED or LOGGED_ON.  The one public way to UNSTARTED, reset(), needs a session whose
		// login failed (before a login it throws on the missing roster).  Set the field to what reset() sets.
		Field chat = Session.class.getDeclaredField("chatSessionStatus");
		chat.setAccessible(true);
		chat.set(session, SessionState.UNSTARTED);
		session.addSessionListener(new OyRoom());
		ev("login " + a[0]);
		try {
			session.login(a[0], a[1]);
			ev("authenticationSuccess");
		} catch (Exception e) {
			ev("authenticationFailure " + e);
			System.exit(1);
		}
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		String line;
		while ((line = in.readLine()) != null) {
			line = line.strip();
			if (line.isEmpty()) continue;
			if (line.equals("quit")) break;
			ev("cmd " + line);
			try {
				command(line);
			} catch (Exception e) {
				ev("cmd-exception " + e);
			}
		}
		try {
			session.logout();
		} catch (Exception e) {
			// already gone
		}
		ev("exit state=" + session.getSessionStatus());
		System.exit(0);
	}
}
