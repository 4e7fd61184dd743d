import XCTest
@testable import Reports

final class ReportNumberTests: XCTestCase {
    func testFixedIsStableAndLocaleFree() {
        XCTAssertEqual(ReportNumber.fixed(0.8734, 3), "0.873")
        XCTAssertEqual(ReportNumber.fixed(0.8735001, 3), "0.874")
        XCTAssertEqual(ReportNumber.fixed(12, 2), "12.00")
        XCTAssertEqual(ReportNumber.fixed(-1.5, 1), "-1.5")
        XCTAssertEqual(ReportNumber.fixed(-0.0001, 2), "0.00", "no negative zero")
        XCTAssertEqual(ReportNumber.fixed(0.05, 0), "0")
        XCTAssertEqual(ReportNumber.fixed(1234567.891, 1), "1234567.9")
        XCTAssertEqual(ReportNumber.fixed(.nan, 2), "not a number")
        XCTAssertEqual(ReportNumber.fixed(.infinity, 2), "∞")
        XCTAssertEqual(ReportNumber.fixed(1e20, 2), "100000000000000000000.00")
    }

    func testPercentAndGeneral() {
        XCTAssertEqual(ReportNumber.percent(0.973), "97.3%")
        XCTAssertEqual(ReportNumber.percent(1), "100.0%")
        XCTAssertEqual(ReportNumber.general(20), "20")
        XCTAssertEqual(ReportNumber.general(11.44), "11.4")
        XCTAssertEqual(ReportNumber.general(3.14159), "3.14")
        XCTAssertEqual(ReportNumber.general(0.0001234), "1.23e-04")
        XCTAssertEqual(ReportNumber.general(2.5e7), "2.50e+07")
    }

    func testXSDDoubleRoundTrips() {
        for x in [0.1, 1e-5, 5e-324, 1.7976931348623157e308, -2.5, 0.873] {
            XCTAssertEqual(Double(ReportNumber.xsdDouble(x)), x)
        }
        XCTAssertEqual(ReportNumber.xsdDouble(.infinity), "INF")
        XCTAssertEqual(ReportNumber.xsdDouble(-.infinity), "-INF")
        XCTAssertEqual(ReportNumber.xsdDouble(.nan), "NaN")
    }
}
