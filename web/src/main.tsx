import { render } from "preact";
import "./styles.css";
import { Home } from "./Home";
import { DashboardPage } from "./Dashboard";
import { Settings } from "./Settings";
import { AlertsPage } from "./AlertsPage";
import { IncidentPage } from "./IncidentPage";
import { RulesPage } from "./RulesPage";
import { ContactPointsPage } from "./ContactPointsPage";
import { PoliciesPage } from "./PoliciesPage";
import { SilencesPage } from "./SilencesPage";
import { OfflineBanner } from "./Banners";
import { applyTheme, initialTheme } from "./theme";
import ids from "./ids.json";

applyTheme(initialTheme());

const dashboardPath = new RegExp(`^/d/(${ids.dashboardUID})/?$`);
const incidentPath = /^\/alerts\/([^/]+)$/;

function App() {
  const m = dashboardPath.exec(location.pathname);
  if (m) return <DashboardPage uid={m[1]} />;
  if (location.pathname === "/settings") return <Settings />;
  if (location.pathname === "/alerts") return <AlertsPage />;
  if (location.pathname === "/alerts/rules") return <RulesPage />;
  if (location.pathname === "/alerts/contact-points") return <ContactPointsPage />;
  if (location.pathname === "/alerts/policies") return <PoliciesPage />;
  if (location.pathname === "/alerts/silences") return <SilencesPage />;
  const inc = incidentPath.exec(location.pathname);
  if (inc) return <IncidentPage id={decodeURIComponent(inc[1])} />;
  return <Home />;
}

render(
  <>
    <OfflineBanner />
    <App />
  </>,
  document.getElementById("app")!,
);

// The service worker keeps the app shell so the app opens without the network (see sw.js). The
// dev server has none, and a browser that refuses it still has the whole app, less that.
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
