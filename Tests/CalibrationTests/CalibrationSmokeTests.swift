import XCTest

final class CalibrationSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
