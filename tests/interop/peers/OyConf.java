// OyConf.java - OpenYMSG (the kit's build, new API org.openymsg.SessionImpl) in conferences, for
// oyconf_peers.py.  The kit's OyDrive leaves the conference callbacks empty; this driver logs one account in,
// drives OpenYMSG's own conference API (SessionConference) from commands on stdin and prints every callback
// as one line on stdout.  Compiled by oyconf_peers.py into the build directory against the kit's classes.
//
// Usage: java -cp OUTDIR:KITCLASSPATH OyConf USER PASSWORD
// Hosts: OpenYMSG's unmodified SessionConfigSimple; the kit's yahoo_shim.so (LD_PRELOAD, SHIM_PORTMAP)
// sends its connections to the test's ymsgd; TLS trust through -Djavax.net.ssl.trustStore.
//
// Commands, one per line (end of input = quit); WHO lists are comma-separated, MESSAGE is the rest of the line:
//   create ROOM WHO,... MESSAGE   createConference(ROOM, {WHO...}, MESSAGE)
//   msg ROOM TEXT                 sendConferenceMessage
//   accept ROOM                   acceptConferenceInvite
//   decline ROOM MESSAGE          declineConferenceInvite
//   leave ROOM                    leaveConference
//   extend ROOM WHO,... MESSAGE   extendConference
//   quit
// Events, one per line, "EV HH:MM:SS NAME ARGS"; name lists are sorted and comma-separated ("-" when empty):
//   login USER | cmd LINE | cmd-exception E | unknown command | unknown-conference ROOM
//   connectionSuccessful | connectionFailure | connectionPrematurelyEnded
//   authenticationSuccess | authenticationFailure REASON | logoffNormalComplete | logoffForced REASON
//   conf-invite room=R from=W invited=L members=L msg=M      (receivedConferenceInvite)
//   conf-invite-ack room=R invited=L members=L msg=M          (receivedConferenceInviteAck)
//   conf-extend room=R from=W invited=L                       (receivedConferenceExtend)
//   conf-accept room=R who=W                                  (receivedConferenceAccept)
//   conf-decline room=R who=W msg=M                           (receivedConferenceDecline)
//   conf-left room=R who=W                                    (receivedConferenceLeft)
//   conf-message room=R from=W msg=M                          (receivedConferenceMessage)
//   conf-status room=R status=S                               (conferenceStatusUpdate)
//   exit state=STATE
import org.openymsg.*;
import org.openymsg.config.SessionConfigSimple;
import org.openymsg.contact.roster.ContactAddFailure;
import org.openymsg.context.auth.AuthenticationFailure;
import org.openymsg.context.session.LogoutReason;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;

public class OyConf implements YahooSessionCallback {
	/** OpenYMSG's session */
	static SessionImpl session;
	/** the conferences OpenYMSG handed us (created or invited to), by id: its getConference() map stays empty */
	static final Map<String, YahooConference> confs = new ConcurrentHashMap<>();

	static synchronized void ev(String s) {
		System.out.println("EV " + new SimpleDateFormat("HH:mm:ss").format(new Date()) + " " + s);
		System.out.flush();
	}

	static String names(Set<YahooContact> set) {
		if (set == null || set.isEmpty()) return "-";
		TreeSet<String> n = new TreeSet<>();
		for (YahooContact c : set) n.add(c.getName());
		return String.join(",", n);
	}

	static Set<YahooContact> contacts(String list) {
		Set<YahooContact> s = new HashSet<>();
		for (String n : list.split(",")) if (!n.isEmpty()) s.add(new YahooContact(n, YahooProtocol.YAHOO));
		return s;
	}

	static YahooConference conf(String room) {
		YahooConference c = confs.get(room);
		if (c == null) ev("unknown-conference " + room);
		return c;
	}

	public static void main(String[] a) throws Exception {
		System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8"));
		if (a.length < 2) {
			System.err.println("usage: OyConf USER PASSWORD");
			System.exit(2);
		}
		session = new SessionImpl(new SessionConfigSimple(), new OyConf());
		ev("login " + a[0]);
		session.login(a[0], a[1]);
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		String line;
		while ((line = in.readLine()) != null) {
			// v = {command, ROOM, rest}; create/extend split rest into {WHO,..., MESSAGE}
			String[] v = line.trim().split(" ", 3);
			String rest = v.length > 2 ? v[2] : null;
			String[] who = rest != null ? rest.split(" ", 2) : new String[] {""};
			ev("cmd " + line);
			try {
				YahooConference c;
				switch (v[0]) {
				case "create":
					confs.put(v[1], session.createConference(v[1], contacts(who[0]), who.length > 1 ? who[1] : null));
					break;
				case "msg":
					if ((c = conf(v[1])) != null) session.sendConferenceMessage(c, rest != null ? rest : "");
					break;
				case "accept":
					if ((c = conf(v[1])) != null) session.acceptConferenceInvite(c);
					break;
				case "decline":
					if ((c = conf(v[1])) != null) session.declineConferenceInvite(c, rest);
					break;
				case "leave":
					if ((c = conf(v[1])) != null) session.leaveConference(c);
					break;
				case "extend":
					if ((c = conf(v[1])) != null) session.extendConference(c, contacts(who[0]), who.length > 1 ? who[1] : null);
					break;
				case "quit":
					quit();
					break;
				default:
					ev("unknown command");
				}
			} catch (Exception e) {
				ev("cmd-exception " + e);
			}
		}
		ev("cmd (end of input)");
		quit();
	}

	static void quit() throws InterruptedException {
		session.logout();
		Thread.sleep(1500); // the LOGOFF packet goes out on OpenYMSG's writer thread
		ev("exit state=" + session.getConnectionState());
		System.exit(0);
	}

	// conferences: every callback is one event line
	public void conferenceStatusUpdate(String id, YahooConferenceStatus s) {
		ev("conf-status room=" + id + " status=" + s);
	}
	public void receivedConferenceMessage(YahooConference c, YahooContact from, String m) {
		ev("conf-message room=" + c.getId() + " from=" + from.getName() + " msg=" + m);
	}
	public void receivedConferenceDecline(YahooConference c, YahooContact who, String m) {
		ev("conf-decline room=" + c.getId() + " who=" + who.getName() + " msg=" + m);
	}
	public void receivedConferenceInvite(YahooConference c, YahooContact from, Set<YahooContact> invited,
			Set<YahooContact> members, String m) {
		confs.put(c.getId(), c);
		ev("conf-invite room=" + c.getId() + " from=" + from.getName() + " invited=" + names(invited)
				+ " members=" + names(members) + " msg=" + m);
	}
	public void receivedConferenceExtend(YahooConference c, YahooContact from, Set<YahooContact> invited) {
		ev("conf-extend room=" + c.getId() + " from=" + from.getName() + " invited=" + names(invited));
	}
	public void receivedConferenceAccept(YahooConference c, YahooContact who) {
		ev("conf-accept room=" + c.getId() + " who=" + who.getName());
	}
	public void receivedConferenceLeft(YahooConference c, YahooContact who) {
		ev("conf-left room=" + c.getId() + " who=" + who.getName());
	}
	public void receivedConferenceInviteAck(YahooConference c, Set<YahooContact> invited, Set<YahooContact> members,
			String m) {
		ev("conf-invite-ack room=" + c.getId() + " invited=" + names(invited) + " members=" + names(members) + " msg=" + m);
	}

	// the session: login and logoff are what the test waits for
	public void connectionSuccessful() { ev("connectionSuccessful"); }
	public void connectionFailure() { ev("connectionFailure"); }
	public void connectionPrematurelyEnded() { ev("connectionPrematurelyEnded"); }
	public void authenticationSuccess() { ev("authenticationSuccess"); }
	public void authenticationFailure(AuthenticationFailure f) { ev("authenticationFailure " + f); }
	public void logoffNormalComplete() { ev("logoffNormalComplete"); }
	public void logoffForced(LogoutReason r) { ev("logoffForced " + r); }

	// one-to-one and the contact list: not this driver's business, shown so that nothing passes unseen
	public void receivedMessage(YahooContact from, String m) { ev("receivedMessage from=" + from.getName()); }
	public void receivedBuzz(YahooContact from) { ev("receivedBuzz from=" + from.getName()); }
	public void receivedOfflineMessage(YahooContact from, String m, long t) {
		ev("receivedOfflineMessage from=" + from.getName());
	}
	public void receivedTypingNotification(YahooContact from, boolean t) {}
	public void rosterLoaded() { ev("rosterLoaded"); }
	public void addedContact(YahooContact c) {}
	public void removedContact(YahooContact c) {}
	public void receivedContactAddFailure(YahooContact c, ContactAddFailure f, String info) {}
	public void receivedContactAddAccepted(YahooContact c) {}
	public void receivedContactAddDeclined(YahooContact c, String m) {}
	public void receivedContactAddRequest(String id, YahooContact c, Name n, String m) {}
	public void addedGroups(Set<YahooContactGroup> gs) {}
	public void statusUpdate(YahooContact c, YahooContactStatus s) {}
}
